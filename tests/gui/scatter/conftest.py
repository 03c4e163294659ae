"""Fixtures for the scatter view alone: a real ExplorerState on a small model and test set."""

from __future__ import annotations

import dataclasses

import pytest

N_TEST = 1500


@pytest.fixture(scope="module")
def test_set(mnist_test):
    """The first test digits (all ten classes), a Dataset like the window's."""
    return dataclasses.replace(
        mnist_test, images=mnist_test.images[:N_TEST], labels=mnist_test.labels[:N_TEST]
    )


@pytest.fixture
def state(small_checkpoint, test_set):
    """A state with the small trained 2-d model (from its file) on the test set."""
    from vae_explorer.core.checkpoints import load_checkpoint
    from vae_explorer.gui.state import ExplorerState

    s = ExplorerState()
    s.set_dataset("mnist", test_set)
    s.set_model(load_checkpoint(small_checkpoint).model, path=small_checkpoint)
    return s


@pytest.fixture
def view(qtbot, state):
    """The scatter view on ``state``, shown at a fixed size, fitted to the points."""
    from vae_explorer.gui.scatter import LatentScatterView

    v = LatentScatterView(state)
    qtbot.addWidget(v)
    v.resize(700, 560)
    v.show()
    qtbot.waitExposed(v)
    return v

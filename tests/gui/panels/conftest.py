"""Fixtures for the panels alone: a real ExplorerState on a small test set and small VAEs."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def small_test_set(mnist_test):
    """The first 300 MNIST test digits as a Dataset."""
    from vae_explorer.core.data import Dataset

    return Dataset(
        "mnist", "test", mnist_test.images[:300], mnist_test.labels[:300], list(mnist_test.classes)
    )


@pytest.fixture
def make_model():
    """``make_model(seed, latent_dim=2)``: a small untrained MLP VAE, the same for a seed."""
    from vae_explorer.core.model import VAE, VAEConfig

    def make(seed: int = 0, latent_dim: int = 2):
        torch.manual_seed(seed)
        return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32))

    return make


@pytest.fixture
def labelled_model():
    """A small untrained M2 as the window holds it (decode(z) draws its shown class)."""
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    torch.manual_seed(3)
    return ExplorerLabelledModel(LabelledConfig(latent_dim=2, hidden_dim=32, classifier_hidden_dim=32)).eval()


@pytest.fixture
def state(small_test_set, make_model):
    """An ExplorerState showing the small test set with a small model, z at the origin."""
    from vae_explorer.gui.state import ExplorerState

    s = ExplorerState()
    s.set_dataset("mnist", small_test_set)
    s.set_model(make_model(0), {}, None)
    return s


@pytest.fixture
def count_decodes(monkeypatch):
    """Counts the grid decodes (the state's grid cache misses)."""
    import vae_explorer.core.grid as state_module

    calls = []
    real = state_module.decode_latents

    def counting(model, z):
        calls.append(len(z))
        return real(model, z)

    monkeypatch.setattr(state_module, "decode_latents", counting)
    return calls


@pytest.fixture
def panel(qtbot, state):
    """The Training dock's panel on ``state``, 360 x 900 (the dock at 1400 x 900), shown
    (test files of other panels name their own ``panel``)."""
    from vae_explorer.gui.panels import TrainingPanel

    view = TrainingPanel(state)
    qtbot.addWidget(view)
    view.resize(360, 900)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def grid(qtbot, state):
    """The Latent grid dock's panel on ``state``, 420 x 420, shown."""
    from vae_explorer.gui.panels import LatentGridPanel

    view = LatentGridPanel(state)
    qtbot.addWidget(view)
    view.resize(420, 420)
    view.show()
    qtbot.waitExposed(view)
    return view

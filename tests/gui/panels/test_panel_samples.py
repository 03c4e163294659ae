"""The samples dock alone: prior draws of the current model; a new seed per click."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt


@pytest.fixture
def samples(qtbot, state):
    from vae_explorer.gui.panels import SamplesPanel

    view = SamplesPanel(state)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def expected(model, seed: int, n: int) -> np.ndarray:
    """The mosaic of ``seed``'s draws computed without the GUI: z ~ N(0, I), decoded."""
    from vae_explorer.core.latent import decode_latents, tile_images

    z = torch.randn((n * n, model.latent_dim), generator=torch.Generator().manual_seed(seed))
    return tile_images(decode_latents(model, z.numpy()), n, n, pad=1)


def test_samples_are_the_seeds_prior_draws(samples, state):
    assert samples.seed == 0
    np.testing.assert_allclose(samples.mosaic, expected(state.model, 0, 8), atol=1e-6)


def test_new_samples_draws_a_new_seed(samples, state, qtbot):
    first = samples.mosaic.copy()
    qtbot.mouseClick(samples.new_button, Qt.MouseButton.LeftButton)
    assert samples.seed == 1
    assert samples.mosaic.shape == first.shape and not np.allclose(samples.mosaic, first)
    np.testing.assert_allclose(samples.mosaic, expected(state.model, 1, 8), atol=1e-6)


def test_samples_follow_the_model_and_the_size(samples, state, make_model, qtbot):
    other = make_model(3)
    state.set_model(other, {}, None)
    np.testing.assert_allclose(samples.mosaic, expected(other, 0, 8), atol=1e-6)
    edit = samples.size_spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "grid 4")
    assert samples.size_spin.value() == 4
    np.testing.assert_allclose(samples.mosaic, expected(other, 0, 4), atol=1e-6)


def test_training_snapshots_are_throttled(samples, state, make_model, qtbot, monkeypatch):
    from vae_explorer.core.model import VAE

    draws = []
    real = VAE.sample
    monkeypatch.setattr(
        VAE, "sample", lambda self, n, generator=None: draws.append(n) or real(self, n, generator)
    )
    models = [make_model(30 + i) for i in range(5)]
    for m in models:
        state.set_model(m, {}, None, live=True)
    assert len(draws) <= 1
    qtbot.waitUntil(lambda: np.allclose(samples.mosaic, expected(models[-1], 0, 8), atol=1e-6), timeout=2000)
    qtbot.wait(400)  # past the throttle's window: its trailing call has come too
    assert 1 <= len(draws) <= 2  # five snapshots, at most two decodes

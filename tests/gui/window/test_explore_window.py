"""vae_explorer.explore() on a small module of the test's own: the window shows its latents,
decodes with it, its traversals and active units work, and what needs training says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication
from torch import nn

import vae_explorer
from vae_explorer.core.external import ExternalModelError


class TinyVAE(nn.Module):
    """Not the app's VAE: its own layers, [B, 1, 28, 28] input, a 3-d latent space."""

    def __init__(self, d: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.d = d
        self.enc = nn.Linear(784, 2 * d)
        self.dec = nn.Linear(d, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(x.reshape(x.shape[0], 1, 28, 28).flatten(1))
        return h[:, : self.d], h[:, self.d :]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec(z)).reshape(-1, 1, 28, 28)


@pytest.fixture
def explored(qtbot, close_at_end, mnist_test):
    model = TinyVAE()
    images = torch.from_numpy(mnist_test.images[:400].astype(np.float32) / 255)
    w = vae_explorer.explore(model, images, mnist_test.labels[:400], list(mnist_test.classes), block=False)
    close_at_end(w)
    qtbot.waitExposed(w)
    QApplication.processEvents()
    return model, images, w


def test_explore_shows_and_decodes_the_users_model(explored, qtbot):
    model, images, w = explored
    state = w.state
    with torch.no_grad():
        mu, _ = model.encode(images.reshape(-1, 784))
        assert len(state.test_set) == 400
        np.testing.assert_allclose(state.latents[0], mu.numpy(), atol=1e-3)  # uint8 pixels
        z = np.array([0.4, -0.2, 0.1], np.float32)
        state.set_current_z(z)
        expected = model.decode(torch.from_numpy(z)[None]).reshape(28, 28).numpy()
    np.testing.assert_allclose(w.preview.canvas.image(), expected, atol=1e-5)
    assert "TinyVAE" in w.model_label.text()
    assert w.grid.mosaic is not None

    # Traversal (its tab raised: behind another it decodes nothing): a slider changes the image.
    w.traversal_dock.raise_()
    qtbot.waitUntil(lambda: w.traversal.canvas.image() is not None, timeout=2000)
    before = w.traversal.canvas.image().copy()
    w.traversal.set_slider_value(1, 2.0)
    assert not np.allclose(w.traversal.canvas.image(), before, atol=1e-3)
    assert w.active_units.units is not None and len(w.active_units.units.kl_per_dim) == 3
    # What needs the app's training says so.
    assert "No training history" in w.timeline.epoch_label.text()
    assert not w.canvas.impute_button.isEnabled()
    assert "needs a model trained here" in w.canvas.message_label.text()
    assert not w.save_model(w.windowFilePath() or "/tmp/never-written.safetensors")
    assert "torch.save" in (w.last_error or "")


def test_explore_names_what_is_missing(mnist_test):
    class NoDecode(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(784, 4)

        def encode(self, x):
            h = self.enc(x)
            return h[:, :2], h[:, 2:]

    with pytest.raises(ExternalModelError, match="decode"):
        vae_explorer.explore(NoDecode(), mnist_test.images[:10], block=False)
    with pytest.raises(ValueError, match="28 x 28"):
        vae_explorer.explore(TinyVAE(), np.zeros((5, 10)), block=False)
    with pytest.raises(ValueError, match="labels"):
        vae_explorer.explore(TinyVAE(), mnist_test.images[:10], labels=np.zeros(3, int), block=False)


def test_explore_posterior_says_it_needs_a_trained_model(close_at_end, mnist_test):
    w = vae_explorer.explore(TinyVAE(d=2), mnist_test.images[:50], block=False)
    close_at_end(w)
    w.posterior_dock.raise_()
    w.state.set_picked_index(3)
    QApplication.processEvents()
    assert "trained here" in w.posterior._image()
    w.close()


def test_a_closed_explore_window_is_freed(qtbot, mnist_test):
    """Its views' connections held it in cycles Python cannot collect: every window closed
    in a notebook kept its views (17-43 MB each) until the session ended. Qt frees it."""
    from PySide6.QtCore import QEvent
    from shiboken6 import isValid

    w = vae_explorer.explore(TinyVAE(d=2), mnist_test.images[:50], block=False)
    qtbot.waitExposed(w)
    w.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.processEvents()
    assert not isValid(w)

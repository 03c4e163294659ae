"""Helpers shared by the window tests: what the user was told, weights, small runs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from gui_helpers import data_pos, decode, set_view
from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import HistoryRecorder
from vae_explorer.core.latent import encode_images
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.window import file_dialogs

LEFT = Qt.MouseButton.LeftButton
STATIC_DIALOGS: list[str] = []


def told(window) -> str:
    """Everything the user was shown: open message boxes, static dialogs, the status bar."""
    texts = [b.text() for b in window.findChildren(QMessageBox) if b.isVisible()]
    return "\n".join([*texts, *STATIC_DIALOGS, window.statusBar().currentMessage()])


def recorded_run(test_set, epochs: int = 3, latent_dim: int = 2, hidden_dim: int = 32, shape=None):
    """A run's timeline made of small models seeded 1..epochs (each an "epoch", ``shape``
    applied to it first), with the test set's latents: (models by epoch, history arrays)."""
    torch.set_num_threads(1)
    models: dict[int, VAE] = {}
    recorder = None
    for epoch in range(1, epochs + 1):
        torch.manual_seed(epoch)
        model = VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=hidden_dim))
        if shape is not None:
            shape(model)
        if recorder is None:
            size = sum(v.numel() * 4 for v in model.state_dict().values())
            recorder = HistoryRecorder(epochs, len(test_set), latent_dim, size)
        mu, logvar = encode_images(model, test_set.images)
        recorder.record(epoch, model.state_dict(), mu, logvar)
        models[epoch] = model
    assert recorder is not None
    return models, {k: np.array(v) for k, v in recorder.arrays().items()}


def weights(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def small_run(window, epochs: int = 2) -> None:
    """Shrink the form's run to seconds: 2,000 images, batch 50, a small network."""
    t = window.training
    t.train_limit = 2000
    t.torch_threads = 1
    t.epochs.setValue(epochs)
    t.batch_size.setValue(50)
    t.hidden_dim.setValue(64)


def assert_scatter_decodes(window, qtbot) -> None:
    """A click on the scatter decodes a finite image of the current model."""
    set_view(window)
    vp = window.scatter.plot.viewport()
    qtbot.mouseClick(vp, LEFT, pos=data_pos(window, 0.7, -0.4).toPoint())
    image = window.preview.canvas.image()
    assert np.isfinite(image).all()
    np.testing.assert_allclose(image, decode(window.state.model, window.preview.z), atol=1e-6)


def good_file(path: Path) -> Path:
    torch.manual_seed(7)
    return save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=32)), path, {"dataset": "mnist"})


def open_via_menu(window, monkeypatch, path: Path) -> None:
    """File ▸ Open model…, the dialog answering ``path``."""
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *a, **k: str(path))
    window.menus.open.trigger()  # read in the background: wait until it is shown (or refused)
    deadline = time.monotonic() + 30
    while window.opening and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert not window.opening, "the checkpoint was not opened within 30 s"


def epoch_trained(window) -> bool:
    """The run in progress has handed over a model trained for an epoch (its first snapshot
    is the untrained model, and an opened model's history is not the run's)."""
    return window.state.modified and len(window.state.history) >= 1

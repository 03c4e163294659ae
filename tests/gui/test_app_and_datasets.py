"""The app entry point, the Dataset menu and unusual latent sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gui_helpers import decode
from PySide6.QtWidgets import QApplication


def test_run_app_builds_the_window_and_runs_the_loop(qtbot, small_checkpoint, monkeypatch):
    from vae_explorer.gui import app as app_module

    shown = []
    app = QApplication.instance()
    monkeypatch.setattr(type(app), "exec", lambda self: shown.extend(self.topLevelWidgets()) or 0)
    assert app_module.run_app(str(small_checkpoint)) == 0
    windows = [w for w in shown if w.objectName() == "" and w.windowTitle() == "VAE Explorer"]
    assert windows and windows[0].model_path.name == "small.safetensors"
    for w in windows:
        w.close()
        w.deleteLater()


def test_dataset_menu_switches_the_test_set(window):
    from vae_explorer.core.data import locate_dataset

    if locate_dataset("fashion-mnist", "test") is None:
        pytest.skip("Fashion-MNIST is not installed here")
    window.dataset_actions["fashion-mnist"].trigger()
    assert window.dataset_key == "fashion-mnist"
    assert window.training.dataset.currentData() == "fashion-mnist"
    labels = [item[1].text for item in window.scatter.legend.items]
    assert labels[0] == "T-shirt/top" and labels[9] == "Ankle boot"
    assert window.latents[0].shape == (10_000, 2)
    assert "Fashion-MNIST" in window.dataset_label.text()
    window.training.dataset.setCurrentIndex(window.training.dataset.findData("mnist"))
    assert window.dataset_key == "mnist" and window.dataset_actions["mnist"].isChecked()


def test_a_one_dimensional_latent_space(window, qtbot):
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(2)
    window.set_model(VAE(VAEConfig(latent_dim=1, hidden_dim=16)))
    x, y = window.scatter.cloud.points()
    np.testing.assert_allclose(x, window.latents[0][:, 0])
    assert np.all(y == 0)
    window.grid.refresh()
    z = window.grid.tile_latent(0, 3)
    assert z.shape == (1,)
    window.show_latent(z)
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, z), atol=1e-6)
    assert window.samples.mosaic is not None

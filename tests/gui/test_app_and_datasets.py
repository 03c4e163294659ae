"""The app entry point, the Dataset menu and unusual latent sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gui_helpers import decode
from PySide6.QtWidgets import QApplication, QPushButton


def test_run_app_builds_the_window_and_runs_the_loop(qtbot, small_checkpoint, monkeypatch):
    from vae_explorer.gui import app as app_module

    shown = []
    app = QApplication.instance()
    monkeypatch.setattr(type(app), "exec", lambda self: shown.extend(self.topLevelWidgets()) or 0)
    assert app_module.run_app(str(small_checkpoint)) == 0
    from vae_explorer.gui.main_window import MainWindow

    windows = [w for w in shown if isinstance(w, MainWindow)]
    assert windows and windows[0].model_path.name == "small.safetensors"
    assert windows[0].windowTitle() == "small.safetensors — VAE Explorer"
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


def test_download_runs_in_the_background_with_progress(window, qtbot, monkeypatch, tmp_path):
    import vae_explorer.gui.dataset_download as dd

    calls = []

    def fake_download(name, progress=None):
        calls.append(name)
        for done in (0, 500_000, 1_000_000):
            progress("t10k-images-idx3-ubyte", done, 1_000_000)
        return tmp_path

    monkeypatch.setattr(dd, "download_dataset", fake_download)
    seen = []
    window.downloader.progress.connect(lambda *a: seen.append(a))
    with qtbot.waitSignal(window.downloader.finished, timeout=5000) as blocker:
        window.download_dataset("fashion-mnist")
    assert blocker.args == ["fashion-mnist", str(tmp_path)]
    assert calls == ["fashion-mnist"] and seen[-1] == ("t10k-images-idx3-ubyte", 1_000_000, 1_000_000)
    qtbot.waitUntil(lambda: window._download_dialog is None, timeout=2000)
    assert not window.downloader.is_running()


def test_a_download_can_be_cancelled(window, qtbot, monkeypatch):
    import time

    import vae_explorer.gui.dataset_download as dd

    def slow_download(name, progress=None):
        for i in range(1000):
            progress("train-images-idx3-ubyte", i, 1000)
            time.sleep(0.005)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(dd, "download_dataset", slow_download)
    with qtbot.waitSignal(window.downloader.progress, timeout=5000):
        window.download_dataset("fashion-mnist")
    with qtbot.waitSignal(window.downloader.failed, timeout=5000) as blocker:
        window._download_dialog.findChild(QPushButton).click()  # the dialog's Cancel
    assert blocker.args == ["download cancelled"]
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_saved_layout_larger_than_the_screen_opens_inside_it(qtbot):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication

    from vae_explorer.gui.main_window import MainWindow
    from vae_explorer.gui.theme import app_settings

    area = QApplication.primaryScreen().availableGeometry()
    big = MainWindow(load_default=False)
    qtbot.addWidget(big)
    big.show()
    qtbot.waitExposed(big)
    big.setGeometry(QRect(area.left() + 500, area.top() + 400, area.width() + 600, area.height() + 400))
    assert big.width() > area.width()  # the saved layout really is larger than the screen
    app_settings().setValue("window/geometry", big.saveGeometry())
    big.close()
    w = MainWindow(load_default=False)
    qtbot.addWidget(w)
    assert w.width() <= area.width() and w.height() <= area.height()
    assert area.contains(w.geometry().topLeft())
    w.close()


def test_the_default_layout_fits_a_1400_by_900_screen(qtbot):
    from vae_explorer.gui.main_window import MainWindow

    w = MainWindow(load_default=False)
    qtbot.addWidget(w)
    hint = w.minimumSizeHint()
    assert hint.width() <= 1400 and hint.height() <= 900, (hint.width(), hint.height())
    w.close()

"""Training from the window: live curves, snapshots into the scatter, stop, close, errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt


def _small_run(window, epochs: int = 2) -> None:
    """Shrink the form's run to seconds: 2,000 images, batch 50, a small network."""
    t = window.training
    t.train_limit = 2000
    t.torch_threads = 1
    t.epochs.setValue(epochs)
    t.batch_size.setValue(50)
    t.hidden_dim.setValue(64)


def test_form_refuses_zero_and_negative_values(window):
    t = window.training
    for spin in (t.latent_dim, t.hidden_dim, t.epochs, t.batch_size):
        spin.setValue(0)
        assert spin.value() >= 1
    t.lr.setValue(0.0)
    assert t.lr.value() > 0
    t.beta.setValue(-1.0)
    assert t.beta.value() == 0.0
    assert [t.device.itemData(i) for i in range(t.device.count())][-1] == "cpu"


def test_training_moves_curves_and_scatter_then_becomes_current(window, qtbot):
    _small_run(window, epochs=2)
    before = window.latents[0].copy()
    old_weights = {k: v.clone() for k, v in window.model.state_dict().items()}
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    assert window.runner.is_running()
    assert not window.training.start_button.isEnabled()
    curves = window.training.curves
    qtbot.waitUntil(lambda: curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.waitUntil(lambda: curves.items["loss"].getData()[0] is not None, timeout=5_000)
    qtbot.waitUntil(lambda: window.snapshots_applied >= 1, timeout=30_000)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=60_000)
    x, y = curves.series("loss")
    assert np.all(np.diff(x) > 0) and np.isfinite(y).all()
    assert curves.series("kl")[0].size == x.size and curves.series("recon")[0].size == x.size
    assert curves.series("test")[0].size == 2  # one test -ELBO per epoch
    new_weights = window.model.state_dict()
    assert any(not np.allclose(old_weights[k], new_weights[k]) for k in old_weights)
    assert window.model_path is None
    assert not np.allclose(window.latents[0], before)
    np.testing.assert_allclose(window.scatter.cloud.points()[0], window.latents[0][:, 0])
    assert window.model_meta["epochs_completed"] == 2
    assert window.training.start_button.isEnabled()
    assert "finished" in window.training.progress.format()
    assert window.epoch_label.text() == "Epoch: 2/2"


def test_stop_and_pause(window, qtbot):
    _small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    curves = window.training.curves
    qtbot.waitUntil(lambda: curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.mouseClick(window.training.pause_button, Qt.MouseButton.LeftButton)
    assert window.runner.paused and window.training.pause_button.text() == "Resume"
    qtbot.mouseClick(window.training.pause_button, Qt.MouseButton.LeftButton)
    assert not window.runner.paused
    qtbot.mouseClick(window.training.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10_000)
    assert "stopped" in window.training.progress.format()
    assert window.model_path is None  # the stopped run's weights are the current model


def test_closing_during_training_stops_the_worker(qtbot, small_checkpoint):
    from vae_explorer.gui.main_window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    _small_run(w, epochs=500)
    qtbot.mouseClick(w.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.training.curves.series("loss")[0].size > 0, timeout=30_000)
    thread = w.runner._thread
    t0 = time.perf_counter()
    w.close()
    took = time.perf_counter() - t0
    assert thread is not None and thread.isFinished()
    assert not w.runner.is_running()
    assert took < 2.0, f"closing took {took:.2f} s"


def test_worker_errors_reach_the_window(window, qtbot, monkeypatch):
    import vae_explorer.gui.training_worker as tw

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tw, "load_dataset", broken)
    _small_run(window)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running() and bool(window.last_error), timeout=10_000)
    assert "disk on fire" in window.last_error
    assert "disk on fire" in window.statusBar().currentMessage()
    assert "failed" in window.training.progress.format()
    assert window.training.start_button.isEnabled()


@pytest.mark.parametrize("lr", [1e3])
def test_a_diverging_run_reports_the_loss(window, qtbot, lr):
    _small_run(window)
    window.training.lr.setMaximum(1e4)
    window.training.lr.setValue(lr)
    window.training.likelihood.setCurrentIndex(1)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=60_000)
    if window.last_error is None:
        pytest.skip("this seed did not diverge")
    assert "non-finite" in window.last_error

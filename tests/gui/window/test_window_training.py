"""Training from the window: live curves and scatter, pause, stop, close, divergence, errors."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_helpers import (
    LEFT,
    assert_scatter_decodes,
    good_file,
    same_weights,
    small_run,
    told,
    weights,
)

from vae_explorer.gui.workers import running_workers


def test_training_moves_curves_and_scatter_then_becomes_current(window, qtbot):
    small_run(window, epochs=2)
    before = window.state.latents[0].copy()
    old_weights = {k: v.clone() for k, v in window.state.model.state_dict().items()}
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    assert window.trainer.is_running()
    assert not window.training.start_button.isEnabled()
    curves = window.training.curves
    qtbot.waitUntil(lambda: curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.waitUntil(lambda: curves.items["loss"].getData()[0] is not None, timeout=5_000)
    qtbot.waitUntil(lambda: window.trainer.snapshots_applied >= 1, timeout=30_000)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=60_000)
    x, y = curves.series("loss")
    assert np.all(np.diff(x) > 0) and np.isfinite(y).all()
    assert curves.series("kl")[0].size == x.size and curves.series("recon")[0].size == x.size
    assert curves.series("test")[0].size == 2  # one test -ELBO per epoch
    new_weights = window.state.model.state_dict()
    assert any(not np.allclose(old_weights[k], new_weights[k]) for k in old_weights)
    assert window.state.model_path is None
    assert not np.allclose(window.state.latents[0], before)
    np.testing.assert_allclose(window.scatter.cloud.points()[0], window.state.latents[0][:, 0])
    assert window.state.model_meta["epochs_completed"] == 2
    assert window.training.start_button.isEnabled()
    assert "finished" in window.training.progress.format()
    assert window.epoch_label.text() == "Epochs: 2"


def test_a_new_run_shows_its_own_model_from_the_start(window, qtbot):
    """The first model a run makes current is its untrained one (epoch 0), not after an
    epoch: the scatter never shows the replaced model's latents during the first epoch."""
    small_run(window, epochs=500)
    old = weights(window.state.model)
    seen: list[tuple[int, int, bool, np.ndarray, np.ndarray]] = []

    def applied(snap) -> None:
        state = window.state
        seen.append((snap.epoch, len(state.history), state.modified, state.latents[0].copy(), snap.test_mu))

    window.trainer.snapshotApplied.connect(applied)
    window.statusBar().showMessage("Opened the model this run replaces")
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=30_000)
    assert window.statusBar().currentMessage().startswith("Training started")  # not the old model's
    epoch, history, modified, shown, initial = seen[0]
    assert (epoch, history, modified) == (0, 0, False)  # nothing trained yet, nothing to save
    np.testing.assert_array_equal(shown, initial)
    np.testing.assert_array_equal(window.scatter.cloud.points()[0], initial[:, 0])
    assert not same_weights(weights(window.state.model), old)
    assert window.trainer.is_running()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)


def test_stop_and_pause(window, qtbot):
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    curves = window.training.curves
    qtbot.waitUntil(lambda: curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.mouseClick(window.training.pause_button, Qt.MouseButton.LeftButton)
    assert window.trainer.paused and window.training.pause_button.text() == "Resume"
    qtbot.mouseClick(window.training.pause_button, Qt.MouseButton.LeftButton)
    assert not window.trainer.paused
    qtbot.mouseClick(window.training.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)
    assert "stopped" in window.training.progress.format()
    assert window.state.model_path is None  # the stopped run's weights are the current model


def test_pause_right_after_start_holds(window, qtbot):
    """Pause clicked while the run's data loads: the run waits before its first batch and
    every place says paused (the start message used to overwrite it); Resume trains."""
    small_run(window, epochs=500)
    started = []
    window.trainer.started.connect(started.append)
    qtbot.mouseClick(window.training.start_button, LEFT)
    assert not started  # (the data is still loading on the worker)
    qtbot.mouseClick(window.training.pause_button, LEFT)
    qtbot.waitUntil(lambda: bool(started), timeout=30_000)
    QApplication.processEvents()
    assert window.trainer.paused
    assert window.training.progress.format().endswith("· paused")
    assert "Paused before the first batch" in window.training.status.text()
    assert window.statusBar().currentMessage() == "Training paused before its first batch"
    qtbot.wait(300)
    assert window.training.curves.is_empty()  # no batch trained while paused
    qtbot.mouseClick(window.training.pause_button, LEFT)
    qtbot.waitUntil(lambda: not window.training.curves.is_empty(), timeout=30_000)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)


def test_worker_errors_reach_the_window(window, qtbot, monkeypatch):
    import vae_explorer.core.training.job as job_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(job_module, "VAE", broken)
    small_run(window)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.trainer.is_running() and bool(window.last_error), timeout=10_000)
    assert "disk on fire" in window.last_error
    assert "disk on fire" in window.statusBar().currentMessage()
    assert "failed" in window.training.progress.format()
    assert window.training.start_button.isEnabled()


def test_a_diverging_run_stops_tells_and_keeps_a_usable_model(window, qtbot):
    small_run(window)
    t = window.training
    t.lr.setValue(1e6)
    assert t.lr.value() == t.lr.maximum() == 1.0  # the form caps the rate ...
    t.lr.setMaximum(1e6)  # ... so lift the cap to force the blow-up
    t.lr.setValue(1e6)
    assert t.job().train_config.lr == 1e6
    model, before = window.state.model, weights(window.state.model)
    qtbot.mouseClick(t.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    text = told(window)
    assert "non-finite" in text and "learning rate" in text, text
    assert "failed" in t.progress.format() and t.start_button.isEnabled()
    # No good epoch ended before the blow-up: the model from before the run stays.
    assert window.state.model is model and same_weights(weights(model), before)
    assert all(np.isfinite(v).all() for v in weights(window.state.model).values())
    assert np.isfinite(window.state.latents[0]).all()
    assert_scatter_decodes(window, qtbot)
    assert window.menus.open.isEnabled()


def test_a_run_that_diverges_after_a_good_epoch_keeps_that_epoch(window, qtbot, monkeypatch):
    """The last good snapshot becomes the model; the blow-up's weights never reach the GUI."""
    import vae_explorer.core.training.job as tw
    from vae_explorer.core.training import TrainingFailed

    real_train = tw.train

    def good_then_nan(model, images, config, test_images=None, control=None):
        yield from real_train(model, images, config, test_images, control)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))
        yield TrainingFailed("the loss became non-finite (inf or NaN) at epoch 2, batch 3", 2, 3)

    monkeypatch.setattr(tw, "train", good_then_nan)
    small_run(window, epochs=1)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    assert "non-finite" in told(window)
    assert window.trainer.snapshots_applied >= 1
    assert all(np.isfinite(v).all() for v in weights(window.state.model).values())
    assert_scatter_decodes(window, qtbot)


def test_the_form_refuses_zero_and_negative_values(window, qtbot):
    t = window.training
    ints = (t.latent_dim, t.hidden_dim, t.epochs, t.batch_size)
    for spin in ints:
        spin.setValue(0)
        spin.setValue(-5)
        assert spin.value() >= 1
    t.lr.setValue(0.0)
    t.lr.setValue(-1.0)
    t.beta.setValue(-2.0)
    # ... and typing them: the spin boxes reject the minus sign and correct a zero.
    for spin in (t.epochs, t.batch_size):
        spin.setFocus()
        spin.selectAll()
        QTest.keyClicks(spin, "-0")
        QTest.keyClick(spin, Qt.Key.Key_Return)
        assert spin.value() >= 1
    t.lr.selectAll()
    QTest.keyClicks(t.lr, "0")
    QTest.keyClick(t.lr, Qt.Key.Key_Return)
    job = t.job()
    c = job.train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    assert job.model_config.latent_dim >= 1 and job.model_config.hidden_dim >= 1
    assert t.lr.minimum() > 0 and t.beta.minimum() == 0
    assert [t.device.itemData(i) for i in range(t.device.count())][-1] == "cpu"


def test_a_missing_device_is_reported(window, qtbot, capfd):
    """A device in the list that this machine lacks (a stale setting, a pulled eGPU)."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    t = window.training
    small_run(window)
    t.device.addItem("CUDA", "cuda")
    t.device.setCurrentIndex(t.device.count() - 1)
    model, before = window.state.model, weights(window.state.model)
    qtbot.mouseClick(t.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running() and bool(window.last_error), timeout=20_000)
    text = told(window)
    assert "CUDA was requested" in text and "choose 'cpu'" in text, text
    assert "DeviceError" not in text  # plain words, not an exception's class name
    assert "failed" in t.progress.format() and t.start_button.isEnabled()
    assert window.state.model is model and same_weights(weights(model), before)
    assert "Traceback" not in capfd.readouterr().err  # a user error, not a crash


def test_stop_pressed_twice(window, qtbot):
    small_run(window, epochs=500)
    done: list[object] = []
    window.trainer.done.connect(done.append)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.mouseClick(window.training.stop_button, LEFT)
    qtbot.mouseClick(window.training.stop_button, LEFT)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=5_000)
    QApplication.processEvents()
    window.stop_training()  # after the end too: nothing to stop, nothing breaks
    qtbot.mouseClick(window.training.stop_button, LEFT)
    QApplication.processEvents()
    assert len(done) == 1
    assert "stopped" in window.training.progress.format()
    assert not window.training.stop_button.isEnabled()
    assert window.last_error is None
    assert_scatter_decodes(window, qtbot)


def test_start_pressed_while_running_starts_no_second_worker(window, qtbot):
    small_run(window, epochs=500)
    started: list[object] = []
    window.trainer.started.connect(started.append)
    t = window.training
    qtbot.mouseClick(t.start_button, LEFT)
    worker = window.trainer._worker
    assert worker is not None and not t.start_button.isEnabled()
    qtbot.mouseClick(t.start_button, LEFT)  # disabled: ignored
    t.start_button.click()  # even a programmatic click of a disabled button does nothing
    window.start_training(t.job())  # the path the button takes, past the button
    qtbot.waitUntil(lambda: len(started) >= 1, timeout=20_000)
    assert window.trainer._worker is worker
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=5_000)
    assert len(started) == 1


def test_closing_the_window_during_training(qtbot, small_checkpoint, capfd):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    w.canvas.live_check.setChecked(False)  # time the training worker, not a canvas job
    small_run(w, epochs=500)
    qtbot.mouseClick(w.training.start_button, LEFT)
    qtbot.waitUntil(lambda: w.training.curves.series("loss")[0].size > 0, timeout=30_000)
    assert running_workers() >= 1
    t0 = time.perf_counter()
    w.close()
    took = time.perf_counter() - t0
    assert took < 1.0, f"closing took {took:.2f} s"
    assert running_workers() == 0
    assert not w.trainer.is_running()
    for _ in range(3):
        QApplication.processEvents()  # late queued events must find a sane window
    assert "Traceback" not in capfd.readouterr().err


def test_a_batch_larger_than_the_training_set(window, qtbot):
    small_run(window, epochs=1)
    window.training.train_limit = 300
    window.training.batch_size.setValue(1000)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    assert window.last_error is None
    assert "finished after 1 epoch" in window.training.progress.format()
    assert window.state.model_meta["epochs_completed"] == 1


_EXIT_SCRIPT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from vae_explorer.gui.window import MainWindow

app = QApplication(sys.argv[:1])
w = MainWindow(sys.argv[1], load_default=False)
w.ask_unsaved = lambda *before: QMessageBox.StandardButton.Discard  # the run's model is not wanted
t = w.training
t.train_limit, t.torch_threads = 2000, 1
t.epochs.setValue(500)
t.batch_size.setValue(50)
t.hidden_dim.setValue(64)
w.show()
w.trainer.batchMetrics.connect(lambda ev: QTimer.singleShot(0, w.close))
QTimer.singleShot(0, t.start_button.click)
QTimer.singleShot(60_000, lambda: app.exit(3))  # a safety net, never the way out
sys.exit(app.exec())
"""


def test_the_app_exits_cleanly_when_closed_during_training(small_checkpoint, tmp_path):
    """The whole process: close mid-run, the event loop ends, exit status 0, no traceback."""
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VAE_EXPLORER_SETTINGS": str(tmp_path / "s.ini")}
    proc = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, str(small_checkpoint)],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    err = "\n".join(line for line in proc.stderr.splitlines() if "propagateSizeHints" not in line)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "QThread" not in err, err


SCATTER_SETTLE_MS = 400  # longer than the window's snapshot throttle


def test_opening_a_model_during_a_run_is_refused(window, qtbot, tmp_path):
    """(The menu item is disabled while training; the path-taking method refuses too, since
    the run's final snapshot would otherwise replace the opened model.)"""
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    assert not window.menus.open.isEnabled()
    assert not window.open_model(good_file(tmp_path / "other.safetensors"))
    assert "stop the training run" in told(window)
    assert window.trainer.is_running()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=5_000)
    assert window.menus.open.isEnabled()
    assert window.open_model(tmp_path / "other.safetensors")
    qtbot.wait(SCATTER_SETTLE_MS)
    assert window.state.model_path == tmp_path / "other.safetensors"


def test_start_pressed_while_a_model_is_being_read_cancels_the_open(window, qtbot, tmp_path, monkeypatch):
    """The newest request wins: the run goes on, the file read meanwhile is not shown (nor
    refused with an error about the run the user started after it)."""
    import threading

    import vae_explorer.core.checkpoints as checkpoints

    real, gate = checkpoints.load_checkpoint, threading.Event()

    def slow_load(*args, **kwargs):
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoints, "load_checkpoint", slow_load)
    other = good_file(tmp_path / "other.safetensors")
    window.files.open_model_in_background(other)
    assert window.opening
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    gate.set()
    qtbot.waitUntil(lambda: not window.opening, timeout=10_000)
    qtbot.wait(50)
    assert window.trainer.is_running() and window.last_error is None
    assert window.state.model_path != other
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=5_000)


def test_keys_start_pause_and_stop_a_run_as_the_buttons_do(window, qtbot):
    """F5 starts, F6 pauses and resumes, Shift+F5 stops; each key is off when its button is."""
    from PySide6.QtTest import QTest

    small_run(window, epochs=500)
    menus = window.menus
    window.show()
    window.activateWindow()
    assert menus.start_training.isEnabled() and not menus.stop_training.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    assert window.trainer.is_running() and not menus.start_training.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_F5)  # a second start while running: nothing
    QTest.keyClick(window, Qt.Key.Key_F6)
    assert window.trainer.paused and window.training.pause_button.text() == "Resume"
    QTest.keyClick(window, Qt.Key.Key_F6)
    assert not window.trainer.paused
    QTest.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)
    assert "stopped" in window.training.progress.format()
    assert menus.start_training.isEnabled() and not menus.pause_training.isEnabled()
    assert window.last_error is None


def test_the_status_bar_names_the_epoch_under_way_as_the_progress_bar_does(window):
    """It said "Epoch: 10/50" (the last finished) while the progress bar said "epoch 11/50"."""
    from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainingStarted

    trainer = window.trainer
    trainer.started.emit(TrainingStarted("cpu", 50, 600, 60_000))
    trainer.batchMetrics.emit(BatchMetrics(10, 600, 600, 150.0, 140.0, 5.0, 1000.0))
    trainer.epochFinished.emit(EpochSummary(10, 50, 150.0, 140.0, 5.0, None, None, None, 1.0, 1e-3))
    trainer.batchMetrics.emit(BatchMetrics(11, 50, 600, 150.0, 140.0, 5.0, 1000.0))
    assert window.training.progress.format().startswith("epoch 11/50")
    assert window.epoch_label.text() == "Epoch: 11/50"

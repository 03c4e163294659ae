"""A trained, unsaved model survives a crash, a kill or a logout: its recovery copy, and
the offer to open it at the next start (window/recovery.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox
from window_helpers import LEFT, epoch_trained, small_run, weights

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.gui.window import MainWindow
from vae_explorer.gui.window.recovery import RecoveryCopy, left_behind, recovery_dir

Button = QMessageBox.StandardButton


@pytest.fixture
def trained(window, qtbot):
    """The window after a one-epoch run: its model exists nowhere else."""
    small_run(window, epochs=1)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.recovery.writing, timeout=10_000)  # (a worker writes it)
    assert window.state.modified
    return window


def _copy_name() -> str:
    return f"unsaved-{uuid.uuid4().hex}.safetensors"


def test_a_finished_run_leaves_a_copy_of_its_model(trained):
    copy = trained.recovery.path
    assert copy.parent == recovery_dir() and copy.is_file()
    kept = load_checkpoint(copy)
    assert all(
        np.array_equal(v.numpy(), weights(trained.state.model)[k]) for k, v in kept.model.state_dict().items()
    )
    assert kept.metadata["epochs_completed"] == 1 and kept.metadata["history"]
    assert left_behind() == []  # this process runs: its copy is no one's to recover


def test_saving_removes_the_copy(trained, tmp_path):
    assert trained.save_model(tmp_path / "kept.safetensors")
    assert not trained.recovery.path.exists()


def test_discard_on_quit_removes_the_copy_and_a_run_ending_then_leaves_none(window, qtbot, monkeypatch):
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: epoch_trained(window), timeout=30_000)
    assert window.recovery.write(), (window.recovery.failure, window.state.modified)
    qtbot.waitUntil(lambda: window.recovery.exists and not window.recovery.writing, timeout=10_000)
    monkeypatch.setattr(window, "ask_unsaved", lambda before: Button.Discard)
    window.close()
    assert not window.isVisible() and not window.trainer.is_running()
    assert not window.recovery.exists  # the run's last snapshot came while closing: not copied


def test_cancel_on_quit_keeps_the_copy(trained, monkeypatch):
    monkeypatch.setattr(trained, "ask_unsaved", lambda before: Button.Cancel)
    trained.close()
    assert trained.isVisible() and trained.recovery.exists


def test_a_copy_that_cannot_be_written_is_told_once_and_nothing_breaks(trained, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(trained.recovery, "path", blocker / _copy_name())
    told: list[str] = []
    monkeypatch.setattr(trained.statusBar(), "showMessage", lambda text, ms=0: told.append(text))
    assert not trained.recovery.write(wait=True) and not trained.recovery.write(wait=True)
    assert len(told) == 1 and "Could not keep a recovery copy" in told[0]
    assert trained.recovery.failure and trained.state.modified


@pytest.mark.parametrize("fail", ["allocator", "bug"])
def test_no_memory_for_a_copy_is_told_and_a_bug_is_not_hidden(trained, monkeypatch, fail):
    """torch's allocator failing while the copy is made (a RuntimeError, not MemoryError) is
    told like a full disk; any other RuntimeError is a bug, left to the exception hook."""
    from vae_explorer.gui.window import recovery

    text = "DefaultCPUAllocator: can't allocate memory" if fail == "allocator" else "a bug"

    def deepcopy(_model):
        raise RuntimeError(text)

    monkeypatch.setattr(recovery, "deepcopy", deepcopy)
    told: list[str] = []
    monkeypatch.setattr(trained.statusBar(), "showMessage", lambda text, ms=0: told.append(text))
    if fail == "bug":
        with pytest.raises(RuntimeError, match="a bug"):
            trained.recovery.write(wait=True)
        assert not told
    else:
        assert not trained.recovery.write(wait=True)
        assert len(told) == 1 and told[0].endswith(": out of memory") and trained.state.modified


def _left_copy(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _copy_name()
    path.write_bytes(source.read_bytes())
    return path


@pytest.fixture
def left(trained, tmp_path):
    """A copy left by a process that has ended (the trained window's model, saved)."""
    saved = tmp_path / "source.safetensors"
    trained.files.write_current_model(saved, trained.files.metadata_to_save())
    return _left_copy(saved, recovery_dir()), weights(trained.state.model)


def _new_window(qtbot, small_checkpoint, monkeypatch, answer):
    asked: list[Path] = []

    def ask(self, path):
        asked.append(path)
        return answer

    monkeypatch.setattr(MainWindow, "ask_recover", ask)
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    return w, asked


def test_open_makes_the_left_copy_the_current_unsaved_model(left, qtbot, small_checkpoint, monkeypatch):
    path, trained_weights = left
    w, asked = _new_window(qtbot, small_checkpoint, monkeypatch, Button.Open)
    assert asked == [path]
    assert all(np.array_equal(v, trained_weights[k]) for k, v in weights(w.state.model).items())
    assert w.state.modified and w.state.model_path is None  # quitting will ask to save it
    assert w.state.model_meta["epochs_completed"] == 1
    assert not path.exists() and w.recovery.exists  # the copy is the new window's own now
    assert "Recovered" in w.statusBar().currentMessage()


def test_discard_deletes_the_left_copy(left, qtbot, small_checkpoint, monkeypatch):
    path, _ = left
    w, asked = _new_window(qtbot, small_checkpoint, monkeypatch, Button.Discard)
    assert asked == [path] and not path.exists()
    assert w.state.model_path == small_checkpoint and not w.state.modified


def test_later_keeps_the_left_copy_for_the_next_start(left, qtbot, small_checkpoint, monkeypatch):
    path, _ = left
    w, asked = _new_window(qtbot, small_checkpoint, monkeypatch, Button.Cancel)
    assert asked == [path] and path.exists()
    assert w.state.model_path == small_checkpoint


def test_a_damaged_copy_is_reported_and_kept(qtbot, small_checkpoint, monkeypatch):
    folder = recovery_dir()
    folder.mkdir(parents=True)
    path = folder / _copy_name()
    path.write_bytes(b"\x00" * 100)
    w, asked = _new_window(qtbot, small_checkpoint, monkeypatch, Button.Open)
    assert asked == [path] and path.exists()
    assert "Cannot recover the model" in w.statusBar().currentMessage()
    assert w.state.model_path == small_checkpoint


_DIES_HOLDING_A_LOCK = r"""
import os, sys
from PySide6.QtCore import QLockFile
lock = QLockFile(sys.argv[1])
assert lock.tryLock(0)
os._exit(0)  # a crash: the lock file stays behind
"""


def test_only_copies_no_running_window_holds_are_offered(tmp_path, qapp):
    from PySide6.QtCore import QLockFile

    held = tmp_path / _copy_name()  # another window's, alive: its lock is held
    held.write_bytes(b"x")
    lock = QLockFile(str(held.with_suffix(".lock")))
    assert lock.tryLock(0)
    crashed = tmp_path / _copy_name()  # its owner died holding the lock
    crashed.write_bytes(b"x")
    subprocess.run(
        [sys.executable, "-c", _DIES_HOLDING_A_LOCK, str(crashed.with_suffix(".lock"))], check=True
    )
    assert crashed.with_suffix(".lock").exists()
    unlocked = tmp_path / _copy_name()
    unlocked.write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "unsaved-1-1.safetensors").write_bytes(b"x")  # not a name the app gives
    try:
        assert sorted(left_behind(tmp_path)) == sorted([crashed, unlocked])
    finally:
        lock.unlock()
    assert left_behind(tmp_path / "missing") == []


def test_a_signal_while_the_quit_question_is_up_closes_and_keeps_the_copy(trained, monkeypatch):
    """The question is dismissed (as rejecting the dialog does) and the window closes, the
    model kept as its recovery copy, not half-closed."""
    w = trained

    def signal_arrives(before):
        w.end_for_signal()  # what the signal handler runs, from inside the dialog's loop
        return Button.Cancel  # the rejected dialog's answer

    monkeypatch.setattr(w, "ask_unsaved", signal_arrives)
    w.close()
    assert not w.isVisible() and w.recovery.exists
    assert load_checkpoint(w.recovery.path).metadata["epochs_completed"] == 1


def test_a_signal_while_a_copy_is_offered_asks_about_no_other(
    left, qtbot, small_checkpoint, monkeypatch, tmp_path
):
    path, _ = left
    second = _left_copy(path, recovery_dir())
    asked: list[Path] = []

    def ask(self, copy):
        asked.append(copy)
        self.end_for_signal()
        return Button.Cancel

    monkeypatch.setattr(MainWindow, "ask_recover", ask)
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: bool(asked) and not w.isVisible(), timeout=5_000)
    qtbot.wait(50)
    assert len(asked) == 1 and path.exists() and second.exists()


def test_a_copy_that_cannot_be_shown_stays_where_it_was(left, qtbot, small_checkpoint, monkeypatch):
    path, _ = left
    monkeypatch.setattr("vae_explorer.gui.window.files.Files.show_checkpoint", lambda *a, **k: False)
    w, asked = _new_window(qtbot, small_checkpoint, monkeypatch, Button.Open)
    assert asked == [path] and path.exists() and not w.recovery.exists


_SIGNAL_SCRIPT = r"""
import os, signal, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from vae_explorer.gui.app import end_on_signals
from vae_explorer.gui.window import MainWindow

app = QApplication(sys.argv[:1])
w = MainWindow(sys.argv[1], load_default=False)
w.ask_unsaved = lambda *a: sys.exit("asked a question nobody can answer")
end_on_signals(app, w)
sys.path[:0] = [sys.argv[3], os.path.dirname(sys.argv[3])]  # the tests' helpers
from window_helpers import small_run
small_run(w, epochs=500)
t = w.training
w.show()
sent = []
def epoch_done(ev):
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), getattr(signal, sys.argv[2]))
w.trainer.epochFinished.connect(epoch_done)
QTimer.singleShot(0, t.start_button.click)
QTimer.singleShot(60_000, lambda: app.exit(3))  # a safety net, never the way out
code = app.exec()
print("copy:", w.recovery.path, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_run_ends_the_app_and_keeps_the_model(small_checkpoint, tmp_path, name):
    """The whole process: a kill (or Ctrl-C) mid-run ends the event loop with status 0, no
    question asked, and the model trained so far is in the recovery folder."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_SCRIPT, str(small_checkpoint), name, str(Path(__file__).parent)],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    copy = Path(proc.stdout.split("copy:")[1].strip())
    assert copy.parent == recovery_dir()
    kept = load_checkpoint(copy)
    assert kept.metadata["epochs_completed"] >= 1 and kept.model.config.hidden_dim == 64
    assert left_behind() == [copy]  # the next start offers it


def test_the_copy_is_written_after_the_first_epoch_and_then_at_most_once_a_minute(window, qtbot, monkeypatch):
    from vae_explorer.gui.window import recovery

    monkeypatch.setattr(recovery, "COPY_INTERVAL_MS", 600_000)  # however slow the machine
    writes: list[int] = []
    real = RecoveryCopy.write

    def counted(self):
        writes.append(len(window.state.history))
        return real(self)

    monkeypatch.setattr(RecoveryCopy, "write", counted)
    # The epochs at the first trained snapshot the window applied (a fast run's snapshots
    # can supersede each other before the window takes one, so that may be past epoch 1).
    first_trained: list[int] = []

    def applied(_snapshot) -> None:
        if window.state.modified and not first_trained:
            first_trained.append(len(window.state.history))

    window.trainer.snapshotApplied.connect(applied)
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: epoch_trained(window) and len(window.state.history) >= 3, timeout=60_000)
    qtbot.waitUntil(lambda: window.recovery.exists, timeout=10_000)  # (a worker writes it)
    assert first_trained[0] >= 1 and writes == first_trained
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)
    assert len(writes) == 2  # and once more as the run ends
    qtbot.waitUntil(lambda: not window.recovery.writing, timeout=10_000)
    assert load_checkpoint(window.recovery.path).metadata["epochs_completed"] == writes[-1]


def _hold_background_writes(monkeypatch) -> threading.Event:
    """save_checkpoint on a worker thread waits for the returned event (the GUI thread's
    saves go through): a write caught mid-way, for as long as a test needs."""
    import vae_explorer.core.checkpoints as checkpoints

    gate, real = threading.Event(), checkpoints.save_checkpoint

    def held(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            assert gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoints, "save_checkpoint", held)
    return gate


def test_saving_while_a_copy_is_written_leaves_no_copy(trained, qtbot, tmp_path, monkeypatch):
    w = trained
    gate = _hold_background_writes(monkeypatch)
    w.recovery.discard()
    w.state.set_model(w.state.model, dict(w.state.model_meta), None, modified=True)
    assert w.recovery.write() and w.recovery.writing
    assert w.save_model(tmp_path / "kept.safetensors")  # discards the copy while it is written
    assert not w.recovery.exists
    gate.set()  # the write lands now, after the discard
    qtbot.waitUntil(lambda: not w.recovery.writing, timeout=10_000)
    assert not w.recovery.exists


def test_a_signal_during_a_slow_copy_keeps_the_newest_weights(trained, qtbot, monkeypatch):
    """The signal's copy waits for the one in flight, and the older one never lands last."""
    w = trained
    gate = _hold_background_writes(monkeypatch)
    assert w.recovery.write() and w.recovery.writing  # the older weights, held mid-way
    with torch.no_grad():
        for p in w.state.model.parameters():
            p.add_(1.0)  # newer weights
    newest = weights(w.state.model)
    threading.Timer(0.3, gate.set).start()
    assert w.recovery.write(wait=True)
    qtbot.waitUntil(lambda: not w.recovery.writing, timeout=10_000)
    kept = load_checkpoint(w.recovery.path).model.state_dict()
    assert all(np.array_equal(v.numpy(), newest[k]) for k, v in kept.items())


def test_a_copy_that_fails_in_the_background_is_told(trained, qtbot, monkeypatch):
    import vae_explorer.core.checkpoints as checkpoints
    from vae_explorer.core.checkpoint_file import CheckpointError

    def full(*args, **kwargs):
        raise CheckpointError("cannot save: No space left on device")

    monkeypatch.setattr(checkpoints, "save_checkpoint", full)
    trained.recovery.discard()
    trained.state.set_model(trained.state.model, dict(trained.state.model_meta), None, modified=True)
    assert trained.recovery.write()
    qtbot.waitUntil(lambda: not trained.recovery.writing, timeout=10_000)
    assert "No space left" in (trained.recovery.failure or "")
    assert "Could not keep a recovery copy" in trained.statusBar().currentMessage()
    assert trained.state.modified and trained.isVisible()

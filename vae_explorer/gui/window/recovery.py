"""A trained model is not lost to a crash, a kill or a logout.

While the current model exists nowhere else (trained here, not saved) the window keeps a
copy of it in the recovery folder: after a run's first epoch, then at most once a minute
while it trains, at once when it ends, and when a signal (SIGTERM, SIGHUP, Ctrl-C) ends
the app. The copy goes once the model is saved, or dropped with the user's say-so
(Discard). At the next start a copy left by a session that ended without saving is offered:
Open (it becomes the current, still unsaved model), Discard, or Later.

Each window's copy is ``unsaved-<token>.safetensors`` beside ``unsaved-<token>.lock``, a
QLockFile the window holds while it lives: a copy whose lock is held belongs to a running
window (of this process or another) and is never offered; a dead owner's lock is stale,
which QLockFile tells by the process, not by a PID alone (PIDs are reused).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer
from PySide6.QtWidgets import QMessageBox

from ...core.checkpoint_file import CheckpointError

if TYPE_CHECKING:
    from ..workers import Worker
    from .main_window import MainWindow

RECOVERY_ENV = "VAE_EXPLORER_RECOVERY"  # the folder, for tests, scripts and portable set-ups
COPY_INTERVAL_MS = 60_000
_NAME = re.compile(r"unsaved-([0-9a-f]{32})\.safetensors")


def recovery_dir() -> Path:
    """$VAE_EXPLORER_RECOVERY, else ``vae-explorer/recovery`` in the user's data folder
    (the same for the app and for explore() in a notebook)."""
    folder = os.environ.get(RECOVERY_ENV)
    if folder:
        return Path(folder)
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(data or Path.home()) / "vae-explorer" / "recovery"


def _lock_for(copy: Path) -> QLockFile:
    lock = QLockFile(str(copy.with_suffix(".lock")))
    lock.setStaleLockTime(0)  # held for a window's lifetime: stale only when its owner is gone
    return lock


def left_behind(folder: Path | None = None) -> list[Path]:
    """Recovery copies no running window holds, newest first."""
    folder = recovery_dir() if folder is None else folder
    try:
        copies = [p for p in folder.iterdir() if _NAME.fullmatch(p.name)]
    except OSError:
        return []
    found = []
    for copy in copies:
        lock = _lock_for(copy)
        if lock.tryLock(0):  # no owner (or a dead one): it was left behind
            lock.unlock()
            found.append(copy)
    return sorted(found, key=_modified_time, reverse=True)


def forget(copy: Path) -> None:
    """Delete a left-behind copy and its lock file."""
    for path in (copy, copy.with_suffix(".lock")):
        with contextlib.suppress(OSError):
            path.unlink()


def _modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def describe(path: Path) -> str:
    """When the copy was last written, for the question."""
    stamp = _modified_time(path)
    return time.strftime("%a %d %b %Y, %H:%M", time.localtime(stamp)) if stamp else "an earlier session"


class _Writes:
    """The order of one window's copies: written one at a time, a newer copy never
    overwritten by an older one, a dropped one never left behind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest = 0  # the newest copy on disk (by its number)


def _write_copy(
    model: object, path: Path, meta: dict[str, Any], arrays: dict[str, Any],
    number: int, writes: _Writes, dropped: threading.Event,
) -> None:  # fmt: skip
    """Write copy ``number`` (a worker thread runs this; a signal's last copy runs it on
    the GUI thread). Should the copy have been dropped while it was written, it goes again:
    discard() sets ``dropped`` before it deletes the file, and this looks after the file is
    in place, so one of the two deletes it."""
    from ...core.checkpoints import save_checkpoint

    with writes.lock:
        if number < writes.latest:
            return  # a newer copy is on disk already
        save_checkpoint(model, path, meta, arrays=arrays)  # type: ignore[arg-type]
        writes.latest = number
        if dropped.is_set():
            with contextlib.suppress(OSError):
                path.unlink()


class RecoveryCopy(QObject):
    """Keeps this window's recovery copy in step with its current model."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.path = recovery_dir() / f"unsaved-{uuid.uuid4().hex}.safetensors"
        self.failure: str | None = None  # why the last copy could not be written
        self._lock = _lock_for(self.path)
        self._stopped = False
        self._last_write = -float("inf")  # time.monotonic() of the last copy
        self._worker: Worker | None = None
        self._again = False
        self._number = 0  # copies asked for
        self._writes = _Writes()
        # Set once the model's copy is unwanted: a write still running then deletes its file.
        self._dropped = threading.Event()
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.write)
        window.trainer.snapshotApplied.connect(self._on_snapshot)
        window.trainer.done.connect(self._on_run_done)
        window.state.modifiedChanged.connect(self._on_modified_changed)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    @property
    def writing(self) -> bool:
        """A copy is being written in the background."""
        return self._worker is not None

    def write(self, wait: bool = False) -> bool:
        """Copy the current model if it exists nowhere else: False if there is nothing to
        copy (or, with ``wait``, it failed). A worker thread writes the file (a history of
        10-15 MB takes 30-60 ms to serialise and sync), or this call with ``wait`` (a signal
        is ending the app). A failure (a full disk) is told once in the status bar."""
        self._timer.stop()
        state = self.window.state
        ours = getattr(state.model, "config", None) is not None  # not explore()'s own model
        if self._stopped or not (state.modified and ours):
            return False
        if self._worker is not None and not wait:
            self._again = True  # the weights changed while the last copy was being written
            return True
        self._again = False
        self._last_write = time.monotonic()
        self._number += 1
        files = self.window.files
        try:
            meta = files.metadata_to_save()
            # Without the first screen's pictures: they cost a decode on the GUI thread, and
            # a recovered model draws them when it is opened.
            arrays = files.arrays_to_save(meta, first_screen=False)
            job = (deepcopy(state.model), self.path, meta, arrays, self._number, self._writes, self._dropped)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self._lock.isLocked() and not self._lock.tryLock(0):
                raise OSError(f"cannot lock {self._lock.fileName()} (error {self._lock.error()})")
            if wait:  # (after a write in flight: _Writes orders them)
                _write_copy(*job)
                self._succeeded()
                return True
        except (CheckpointError, OSError, MemoryError, RuntimeError) as exc:
            from ...core.devices import is_out_of_memory
            from ..workers import error_message

            if isinstance(exc, RuntimeError) and not is_out_of_memory(exc):
                raise  # a bug: the app's exception hook reports it
            self._failed(error_message(exc))
            return False
        from ..workers import Worker

        worker = Worker(_write_copy, *job, name="recovery-copy")
        worker.returned.connect(self._succeeded)
        worker.failed.connect(self._failed)
        worker.finished.connect(self._on_written)
        self._worker = worker
        worker.start()
        return True

    def _succeeded(self, _result: object = None) -> None:
        self.failure = None

    def _failed(self, message: str) -> None:
        if self.failure is None:
            self.window.statusBar().showMessage(
                f"Could not keep a recovery copy of the unsaved model in {self.path.parent}: {message}", 20000
            )
        self.failure = message

    def _on_written(self) -> None:
        self._worker = None
        if self._again:
            self._again = False
            self.write()

    def adopt(self, copy: Path) -> None:
        """A left-behind copy, opened, becomes this window's own."""
        with contextlib.suppress(OSError):  # else it stays where it is, and is offered again
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._lock.isLocked() or self._lock.tryLock(0):
                copy.replace(self.path)
                forget(copy)  # its old lock file

    def discard(self) -> None:
        """The model went with the user's say-so (saved, or Discard): so does its copy."""
        self._timer.stop()
        self._last_write = -float("inf")
        self._again = False
        self._dropped.set()  # (before the file goes: see _write_copy)
        self._dropped = threading.Event()
        with contextlib.suppress(OSError):  # none there, or its folder unusable: nothing to do
            self.path.unlink()
        if self._lock.isLocked():
            self._lock.unlock()

    def stop(self) -> None:
        """The window is closing: what it does from now on is not copied."""
        self._timer.stop()
        self._stopped = True

    def _on_snapshot(self, snapshot: object) -> None:
        if not self.window.state.modified or self._timer.isActive():
            return
        wait_ms = COPY_INTERVAL_MS - 1000 * (time.monotonic() - self._last_write)
        if wait_ms <= 0:
            self.write()
        else:
            self._timer.start(int(wait_ms))

    def _on_run_done(self, finished: object) -> None:
        self.write()

    def _on_modified_changed(self, modified: bool) -> None:
        if not modified:
            self.discard()


def ask_recover(window: MainWindow, path: Path) -> QMessageBox.StandardButton:
    """Open / Discard / Later for a copy left by a session that ended without saving."""
    Button = QMessageBox.StandardButton
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Recover unsaved model",
        "VAE Explorer last ended with a trained model that was not saved. "
        f"A copy of it from {describe(path)} was kept. Open it?",
        parent=window,
    )
    box.setInformativeText(
        "Open makes it the current model (still unsaved: File ▸ Save model keeps it). "
        "Discard deletes the copy. Later asks again at the next start."
    )
    box.setStandardButtons(Button.Open | Button.Discard | Button.Cancel)
    box.button(Button.Cancel).setText("Later")
    box.setDefaultButton(Button.Open)
    return Button(box.exec())


def open_recovered(window: MainWindow, path: Path) -> bool:
    """Make a recovery copy the current, unsaved model; the copy becomes the window's own."""
    from ...core.checkpoints import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except (CheckpointError, OSError) as exc:
        window.show_error("Cannot recover the model", str(exc))
        return False
    if not window.files.show_checkpoint(ckpt, path, recovered=True):
        return False
    window.recovery.adopt(path)
    return True


def offer_left_behind(window: MainWindow) -> None:
    """Ask about each copy a crashed or killed session left, newest first, until one is
    opened (the window shows one model) or the window closes; the rest wait for the next
    start."""
    Button = QMessageBox.StandardButton
    for path in left_behind(window.recovery.path.parent):
        answer = window.ask_recover(path)
        if window.closing:
            return
        if answer == Button.Discard:
            forget(path)
        elif answer == Button.Open and open_recovered(window, path):
            return

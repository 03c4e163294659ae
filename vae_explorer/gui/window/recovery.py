"""A trained model is not lost to a crash, a kill or a logout.

While the current model exists nowhere else (trained here, not saved) the window keeps a
copy of it in the recovery folder: after a run's first epoch, then at most once a minute
while it trains, at once when it ends, and when a signal (SIGTERM, SIGHUP, Ctrl-C) ends
the app. The copy goes once the model is saved, or dropped with the user's say-so
(Discard). At the next start a copy left by a session that ended without saving is offered:
Open (it becomes the current, still unsaved model), Discard, or Later.

Each window's copy is ``unsaved-<pid>-<n>.safetensors``; a copy whose process is still
running belongs to another window and is never offered.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtWidgets import QMessageBox
from superqt.utils import qthrottled

from ...core.checkpoint_file import CheckpointError

if TYPE_CHECKING:
    from .main_window import MainWindow

RECOVERY_ENV = "VAE_EXPLORER_RECOVERY"  # the folder, for tests and portable set-ups
COPY_INTERVAL_MS = 60_000
_NAME = re.compile(r"unsaved-(\d+)-(\d+)\.safetensors")
_windows = itertools.count(1)


def recovery_dir() -> Path:
    """$VAE_EXPLORER_RECOVERY, else ``recovery`` in the app's data folder."""
    folder = os.environ.get(RECOVERY_ENV)
    if folder:
        return Path(folder)
    location = QStandardPaths.StandardLocation.AppLocalDataLocation
    return Path(QStandardPaths.writableLocation(location)) / "recovery"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: not ours to judge
    return True


def left_behind(folder: Path | None = None) -> list[Path]:
    """Recovery copies whose process has ended, newest first."""
    folder = recovery_dir() if folder is None else folder
    try:
        found = [p for p in folder.iterdir() if (m := _NAME.fullmatch(p.name)) and not _running(int(m[1]))]
    except OSError:
        return []
    return sorted(found, key=_modified_time, reverse=True)


def _modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def describe(path: Path) -> str:
    """When the copy was written, for the question."""
    stamp = _modified_time(path)
    return time.strftime("%a %d %b %Y, %H:%M", time.localtime(stamp)) if stamp else "an earlier session"


class RecoveryCopy(QObject):
    """Keeps this window's recovery copy in step with its current model."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.path = recovery_dir() / f"unsaved-{os.getpid()}-{next(_windows)}.safetensors"
        self.failure: str | None = None  # why the last copy could not be written
        self._stopped = False
        self._later = qthrottled(lambda: self.write(), timeout=COPY_INTERVAL_MS, leading=True, parent=self)
        window.trainer.snapshotApplied.connect(self._on_snapshot)
        window.trainer.done.connect(self._on_run_done)
        window.state.modifiedChanged.connect(self._on_modified_changed)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def write(self) -> bool:
        """Copy the current model now if it exists nowhere else; True if the copy is there.
        A failure (a full disk) is told once in the status bar, never as a dialog."""
        state = self.window.state
        if (
            self._stopped
            or state.model is None
            or not state.modified
            or getattr(state.model, "config", None) is None
        ):
            return False
        files = self.window.files
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            files.write_current_model(self.path, files.metadata_to_save())
        except (CheckpointError, OSError) as exc:
            if self.failure is None:
                self.window.statusBar().showMessage(
                    f"Could not keep a recovery copy of the unsaved model in {self.path.parent}: {exc}",
                    20000,
                )
            self.failure = str(exc)
            return False
        self.failure = None
        return True

    def discard(self) -> None:
        """The model went with the user's say-so (saved, or Discard): so does its copy."""
        self._later.cancel()
        with contextlib.suppress(OSError):  # none there, or its folder unusable: nothing to do
            self.path.unlink()

    def stop(self) -> None:
        """The window is closing: what it does from now on is not copied."""
        self._later.cancel()
        self._stopped = True

    def _on_snapshot(self, snapshot: object) -> None:
        if self.window.state.modified:
            self._later()

    def _on_run_done(self, finished: object) -> None:
        self._later.cancel()
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
        f"VAE Explorer ended on {describe(path)} with a trained model that was not saved. Open it?",
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


def offer_left_behind(window: MainWindow) -> None:
    """Ask about each copy a crashed or killed session left, newest first, until one is
    opened (the window shows one model); the rest wait for the next start."""
    Button = QMessageBox.StandardButton
    for path in left_behind(window.recovery.path.parent):
        answer = window.ask_recover(path)
        if answer == Button.Discard:
            with contextlib.suppress(OSError):
                path.unlink()
        elif answer == Button.Open and window.open_recovered(path):
            return

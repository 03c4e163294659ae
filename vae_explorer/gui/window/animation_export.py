"""Export the training history's animation (GIF or MP4) from the window.

The frames are core's (:func:`core.figures.history_frames`, as `vae-explorer animate`
draws them); they are written in a Worker, atomically (a cancelled or failed export leaves
no partial file), and the progress is reported frame by frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ...core.model import InputError
from ..workers import Worker

if TYPE_CHECKING:
    from ...core.history import TrainingHistory

FORMATS = (".gif", ".mp4")
DEFAULT_FPS = 8
DEFAULT_SIZE = 480
DEFAULT_STEPS_BETWEEN = 2  # interpolated frames between two recorded epochs: smooth motion
CANCELLED = "the export was cancelled; nothing was written"


def write_animation(
    history: TrainingHistory,
    labels: Any,
    path: str | Path,
    fps: int = DEFAULT_FPS,
    size: int = DEFAULT_SIZE,
    steps_between: int = DEFAULT_STEPS_BETWEEN,
) -> Iterator[tuple[int, int]]:
    """Write the animation of ``history`` to ``path`` (.gif or .mp4), yielding (frames
    written, total) after each frame; the file appears only when complete (closing the
    generator early, or a failed write, leaves nothing behind; a failure raises an
    AnimationWriteError naming ``path`` and the reason). For a latent space of more than
    two dimensions the frames show the PCA plane of the last epoch's means (as the
    `animate` command does)."""
    from ...commands.animate import has_ffmpeg, history_plane, write_frames
    from ...core.figures import frame_epochs, history_frames

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"an animation is written as .gif or .mp4, not {path.name!r}")
    if suffix == ".mp4" and not has_ffmpeg():
        raise InputError("writing MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg); or choose .gif")
    total = len(frame_epochs(history, steps_between))
    frames = history_frames(history, labels, size, steps_between, history_plane(history))
    # closing(): a cancel closes this generator, and so the writer's, at once (its partial
    # file goes with it).
    with contextlib.closing(write_frames(path, frames, fps)) as written:
        for done in written:
            yield done, total


class AnimationExporter(QObject):
    """Runs :func:`write_animation` in a Worker, one export at a time.

    ``progress(done, total)``, then ``done(path)`` or ``failed(message)``; ``finished`` last.
    """

    progress = Signal(int, int)
    done = Signal(str)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: Worker | None = None
        self._path = ""

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self, history: TrainingHistory, labels: Any, path: str | Path, fps: int = DEFAULT_FPS) -> bool:
        """Start writing ``path``; False if an export is already running."""
        if self._worker is not None:
            return False
        self._path = str(path)
        worker = Worker(write_animation, history, labels, path, fps, name="animation-export")
        worker.yielded.connect(lambda item: self.progress.emit(*item))
        worker.returned.connect(lambda _result: self.done.emit(self._path))
        worker.failed.connect(self.failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()
        return True

    def cancel(self, wait_ms: int = 0) -> None:
        if self._worker is not None:
            self._worker.cancel(CANCELLED)
            if wait_ms:
                self._worker.wait(wait_ms)

    def _on_finished(self) -> None:
        self._worker = None
        self.finished.emit()

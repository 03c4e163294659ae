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
    generator early removes the partial file). For a latent
    space of more than two dimensions the frames show the PCA plane of the last epoch's
    means (as the `animate` command does)."""
    import imageio.v2 as imageio
    import numpy as np

    from ...commands.animate import GIF_LAST_FRAME_SECONDS, has_ffmpeg, history_plane
    from ...core.figures import frame_epochs, history_frames
    from ...core.files import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"an animation is written as .gif or .mp4, not {path.name!r}")
    if suffix == ".mp4" and not has_ffmpeg():
        raise InputError("writing MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg); or choose .gif")
    total = len(frame_epochs(history, steps_between))
    frames = history_frames(history, labels, size, steps_between, history_plane(history))
    with atomic_path(path) as tmp:
        if suffix == ".gif":
            durations = [1000 / fps] * (total - 1) + [max(1000 / fps, GIF_LAST_FRAME_SECONDS * 1000)]
            writer = imageio.get_writer(tmp, format="GIF", mode="I", duration=durations, loop=0)
        else:
            writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, macro_block_size=1)
        try:
            for done, frame in enumerate(frames, 1):
                if suffix == ".mp4":  # yuv420p video needs even sides
                    h, w = frame.shape[:2]
                    frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
                writer.append_data(frame)
                yield done, total
        except BaseException:
            # A partial animation cannot be closed cleanly (the GIF's frame durations are
            # set for all frames); the temporary file goes anyway.
            with contextlib.suppress(Exception):
                writer.close()
            raise
        writer.close()


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

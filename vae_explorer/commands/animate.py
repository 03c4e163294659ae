"""`vae-explorer animate CKPT --out FILE.gif`: the test latents organising, epoch by epoch.

One frame per recorded epoch (and ``--steps-between`` interpolated frames between two),
the test latents coloured by class on axes fixed over the whole run, and a strip below
that fills up as the epochs go by. Needs a checkpoint with a training history (saved by
`vae-explorer train` or the window's Training dock). GIF, or MP4 with imageio-ffmpeg.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

from ._common import (
    add_command,
    add_dataset_arguments,
    bounded_int,
    die,
    progress_bar,
    stop_signals_interrupt,
)

FORMATS = (".gif", ".mp4")
MAX_SIZE = 2048  # pixels per side
MAX_STEPS_BETWEEN = 60
GIF_LAST_FRAME_SECONDS = 1.5  # the organised space stays on screen before the loop restarts
# core.labelled.model.KINDS, named here so that reading a checkpoint's history never
# imports torch.
LABELLED_KINDS = ("m2", "m1m2")


def add_parser(sub: Any) -> None:
    p = add_command(sub, "animate", help="animate a checkpoint's training history (GIF or MP4)",
                    description=__doc__)  # fmt: skip
    p.add_argument("checkpoint", help="a .safetensors model saved with its training history")
    p.add_argument("--out", required=True, help="the animation to write: FILE.gif or FILE.mp4")
    p.add_argument("--fps", type=bounded_int(1, 60, "frames per second"), default=8, help="frames per second")
    p.add_argument("--size", type=bounded_int(64, MAX_SIZE, "pixels per side"), default=480,
                   help="picture width in pixels")  # fmt: skip
    p.add_argument("--steps-between", type=bounded_int(0, MAX_STEPS_BETWEEN, "frames between two epochs"),
                   default=0, help="interpolated frames between two recorded epochs")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_dataset_arguments(p, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoint_file import read_arrays
    from ..core.figures import frame_epochs, history_frames
    from ..core.files import show_path, show_text
    from ..core.history import NO_HISTORY, TrainingHistory
    from ..core.projection import ProjectionError
    from ._common import load_split, recorded_dataset

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        return die(f"--out must end in .gif or .mp4, got {show_path(out)}")
    if suffix == ".mp4" and not has_ffmpeg():
        return die("writing MP4 needs imageio-ffmpeg: `pip install imageio-ffmpeg`, or write a .gif")
    # The history's arrays only: the model itself is never built.
    metadata, arrays = read_arrays(args.checkpoint)
    config = metadata.get("config")
    kind = config.get("kind", "vae") if isinstance(config, dict) else "vae"
    if kind in LABELLED_KINDS:
        return die(
            f"{show_path(args.checkpoint)} holds a labelled {kind} model: animation needs a VAE's "
            "training history, and labelled runs keep none"
        )
    history = TrainingHistory.from_arrays(
        arrays, config if isinstance(config, dict) else None, show_path(args.checkpoint)
    )
    if history is None:
        return die(f"{show_path(args.checkpoint)} {NO_HISTORY}")
    if args.dataset is None:
        args.dataset = recorded_dataset(metadata)
    test = load_split(args, "test")
    n = history.test_mu.shape[1]
    if len(test) != n:
        return die(
            f"the history holds {n:,} test latents but the {show_text(args.dataset)} test split has "
            f"{len(test):,} images: name the dataset the model was trained on with --dataset or --data-dir"
        )
    try:
        project = history_plane(history)
    except ProjectionError as exc:
        return die(
            f"{show_path(args.checkpoint)}: a {history.test_mu.shape[2]}-d history is animated on the "
            f"PCA plane of its test latents, which cannot be found: {exc}"
        )
    times = frame_epochs(history, args.steps_between)
    frames = history_frames(history, test.labels, args.size, args.steps_between, project)
    _import_drawing_and_writing(suffix)
    # SIGTERM and SIGHUP stop it as Ctrl-C does, from the first file made in the folder
    # (the check) to the last frame: the file goes, and the CLI says "interrupted (SIGTERM)"
    # (exit 130).
    with stop_signals_interrupt():
        # Before any frame is drawn: a folder that refuses the file (read-only, missing) is
        # bad input, exit 2. A full disk mid-write (AnimationWriteError) reaches the CLI's
        # one-line report: its text names the file asked for and the reason.
        problem = _unwritable(out)
        if problem:
            return die(problem)
        bar = progress_bar(len(times), "animate", "frame", args.quiet)
        try:
            with contextlib.closing(write_frames(out, frames, args.fps)) as writing:
                for _ in writing:
                    bar.update(1)
        finally:
            bar.close()
    print(show_path(out))
    sys.stdout.flush()
    return 0


def history_plane(history: Any) -> Any:
    """For latent_dim > 2, the PCA plane of the last epoch's means (fixed for all frames);
    None for 1 or 2 dimensions (history_frames shows those on their own axes)."""
    if history.test_mu.shape[2] <= 2:
        return None
    from ..core.projection import PCAProjection

    return PCAProjection.fit(history.latents(history.last).mu).to_plane


def has_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


class AnimationWriteError(OSError):
    """An animation could not be written: ``str()`` is the whole message, naming the file
    asked for (never the temporary file beside it) and the reason; ``errno`` is the cause's."""

    def __str__(self) -> str:
        return str(self.strerror)


def write_frames(out: Path, frames: Iterable[Any], fps: int) -> Generator[int, None, None]:
    """Write the RGB uint8 ``frames`` to ``out`` (.gif or .mp4) atomically, yielding
    the number written after each; nothing is left at ``out`` or beside it when writing
    fails (AnimationWriteError) or the generator is closed early."""
    from ..core.files import atomic_path

    suffix = out.suffix.lower()
    try:
        with atomic_path(out) as tmp:
            if suffix == ".gif":
                yield from _write_gif(tmp, frames, fps)
            else:
                yield from _write_mp4(tmp, frames, fps)
    except OSError as exc:
        raise AnimationWriteError(exc.errno, _cannot_write(out, exc)) from exc


def _import_drawing_and_writing(suffix: str) -> None:
    """Import now what drawing the frames and writing them import when first used: a stop
    signal that lands inside the import of a C extension is lost (Python cannot raise it
    there), so none may happen once the output's temporary file exists."""
    import numpy.random  # noqa: F401  (core.figures.history_frames)

    if suffix == ".gif":
        from PIL import Image

        Image.preinit()  # the GIF writer and the common formats


def _unwritable(out: Path) -> str:
    """Why ``out`` cannot be written ("" if it can), found before any work by trying it as
    it will be written: a temporary file beside it (removed at once), so a missing or
    read-only folder, a folder given as the file, or a name too long for its temporary
    twin is caught."""
    from ..core.files import atomic_path

    class _DryRun(Exception):
        pass

    try:
        with atomic_path(out):
            raise _DryRun
    except _DryRun:
        return ""
    except OSError as exc:
        return _cannot_write(out, exc)


def _cannot_write(out: Path, exc: OSError) -> str:
    from ..core.files import show_path, write_target

    reason = str(exc.strerror or exc)
    reason = reason[:1].lower() + reason[1:]
    # A missing or unusable folder is named; the target and its temporary twin are not.
    # Compared resolved and as shown: mkstemp names its file by an absolute path when the
    # folder was given relative, and core.files may have made a name printable already.
    folder = show_path(os.path.realpath(write_target(out).parent))
    if exc.filename is not None:
        named = show_path(os.path.realpath(Path(os.fsdecode(exc.filename)).parent))
        if named != folder:
            reason += f" ({show_path(exc.filename)})"
    return f"cannot write {show_path(out)}: {reason}"


def _write_gif(path: Path, frames: Iterable[Any], fps: int) -> Iterator[int]:
    """Pillow directly, not through imageio: its GIF writer fails on a single frame (it
    passes one frame a list of durations) and, when its final write fails, leaves itself
    open to fail again, loudly, when it is garbage collected."""
    from PIL import Image

    pictures = []
    for done, frame in enumerate(frames, 1):
        pictures.append(Image.fromarray(frame))
        yield done
    if not pictures:
        raise ValueError("an animation needs at least one frame")
    last = round(max(1000 / fps, GIF_LAST_FRAME_SECONDS * 1000))
    # Milliseconds; Pillow takes a list for several frames, a number for one.
    duration: int | list[int] = (
        [round(1000 / fps)] * (len(pictures) - 1) + [last] if len(pictures) > 1 else last
    )
    with open(path, "wb") as f:
        pictures[0].save(
            f, format="GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0
        )


def _write_mp4(path: Path, frames: Iterable[Any], fps: int) -> Iterator[int]:
    import imageio.v2 as imageio
    import numpy as np

    writer = imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, macro_block_size=1)
    try:
        for done, frame in enumerate(frames, 1):
            h, w = frame.shape[:2]  # yuv420p video needs even sides
            writer.append_data(np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255))
            yield done
    except BaseException:
        # The file goes anyway (atomic_path); a writer that fails to close must not fail again.
        with contextlib.suppress(Exception):
            writer.close()
        raise
    writer.close()

"""`vae-explorer animate CKPT --out FILE.gif`: the test latents organising, epoch by epoch.

One frame per recorded epoch (and ``--steps-between`` interpolated frames between two),
the test latents coloured by class on axes fixed over the whole run, and a strip below
that fills up as the epochs go by. Needs a checkpoint with a training history (saved by
`vae-explorer train` or the window's Training dock). GIF, or MP4 with imageio-ffmpeg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import add_command, add_dataset_arguments, bounded_int, die, progress_bar

FORMATS = (".gif", ".mp4")
MAX_SIZE = 2048  # pixels per side
MAX_STEPS_BETWEEN = 60
GIF_LAST_FRAME_SECONDS = 1.5  # the organised space stays on screen before the loop restarts


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
    from ..core.files import atomic_path, show_path
    from ..core.history import NO_HISTORY, TrainingHistory
    from ._common import load_split

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        return die(f"--out must end in .gif or .mp4, got {show_path(out)}")
    if suffix == ".mp4" and not has_ffmpeg():
        return die("writing MP4 needs imageio-ffmpeg: `pip install imageio-ffmpeg`, or write a .gif")
    # The history's arrays only: the model itself is never built.
    metadata, arrays = read_arrays(args.checkpoint)
    config = metadata.get("config")
    history = TrainingHistory.from_arrays(arrays, config if isinstance(config, dict) else None)
    if history is None:
        return die(f"{show_path(args.checkpoint)} {NO_HISTORY}")
    if args.dataset is None:
        args.dataset = str(metadata.get("dataset", "mnist"))
    test = load_split(args, "test")
    n = history.test_mu.shape[1]
    if len(test) != n:
        return die(
            f"the history holds {n:,} test latents but the {args.dataset} test split has {len(test):,} "
            "images: name the dataset the model was trained on with --dataset or --data-dir"
        )
    project = history_plane(history)
    times = frame_epochs(history, args.steps_between)
    frames = history_frames(history, test.labels, args.size, args.steps_between, project)
    bar = progress_bar(len(times), "animate", "frame", args.quiet)
    try:
        with atomic_path(out) as tmp:
            _write(tmp, suffix, frames, args.fps, len(times), bar)
    finally:
        bar.close()
    print(show_path(out))
    sys.stdout.flush()
    return 0


def history_plane(history: Any) -> Any:
    """For latent_dim > 2, the PCA plane of the last epoch's means (fixed for all frames)."""
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


def _write(path: Path, suffix: str, frames: Any, fps: int, count: int, bar: Any) -> None:
    import imageio.v2 as imageio
    import numpy as np

    if suffix == ".gif":
        durations = [1000 / fps] * (count - 1) + [max(1000 / fps, GIF_LAST_FRAME_SECONDS * 1000)]
        writer = imageio.get_writer(path, format="GIF", mode="I", duration=durations, loop=0)
    else:
        writer = imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, macro_block_size=1)
    with writer:
        for frame in frames:
            if suffix == ".mp4":  # yuv420p video needs even sides
                h, w = frame.shape[:2]
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
            writer.append_data(frame)
            bar.update(1)

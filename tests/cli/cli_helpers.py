"""Shared by the command-line tests: in-process runs and reading the GIFs they write."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vae_explorer.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """(exit status, stderr) of an in-process run, argparse exits included."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def gif_frames(path) -> list[np.ndarray]:
    """Every frame of a GIF as RGB [h, w, 3]."""
    with Image.open(path) as gif:
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB")))
    return frames

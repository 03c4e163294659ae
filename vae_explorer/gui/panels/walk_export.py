"""The Walk panel's exports: its strips as a labelled PNG, its straight walk as a GIF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

GIF_FPS = 8
GIF_ZOOM = 4  # a 28 px digit is drawn 112 px wide
STRIP_NAMES = {"linear": "straight", "spherical": "great circle"}


def write_strips_png(strips: dict[str, np.ndarray], kinds: list[str], title: str, path: str | Path) -> Path:
    """The strips of ``kinds`` (one row each, [n, 28, 28] images), with their names, as a PNG."""
    from ...core.latent import tile_images
    from ..figure_render import render_labelled_image

    n = strips[kinds[0]].shape[0]
    tiles = np.concatenate([strips[k] for k in kinds])
    picture = tile_images(tiles, len(kinds), n, pad=2)
    return render_labelled_image(picture, path, title, [STRIP_NAMES[k] for k in kinds])


def write_walk_gif(strip: np.ndarray, path: str | Path) -> Path:
    """The images of ``strip`` as an animated GIF, there and back (written atomically)."""
    import imageio.v2 as imageio

    from ...core.files import atomic_path
    from ...core.image import to_uint8

    enlarged = [np.kron(to_uint8(im), np.ones((GIF_ZOOM, GIF_ZOOM), np.uint8)) for im in strip]
    path = Path(path)
    with atomic_path(path) as tmp:
        writer: Any = imageio.get_writer(tmp, format="GIF", mode="I", duration=1000 / GIF_FPS, loop=0)
        with writer:
            for frame in enlarged + enlarged[-2:0:-1]:
                writer.append_data(frame)
    return path

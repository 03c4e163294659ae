"""Walking between two latent codes: the straight line, or the great circle through the
origin (spherical interpolation, with the norm interpolated along the way), decoded.

For a 2-d latent space the straight line is the meaningful path (the great circle of a
plane is the plane itself); both work for any size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import IMAGE_SIDE
from .model import InputError

KINDS = ("linear", "spherical")


def latent_path(z0: Any, z1: Any, n: int, kind: str = "linear") -> np.ndarray:
    """``n`` codes [n, d] (float32) from ``z0`` to ``z1`` inclusive.

    "spherical": the direction turns along the great circle through the origin at a
    constant angular speed, and the norm goes linearly from |z0| to |z1|; when one end is
    at the origin or the two directions are (anti)parallel, the path is the straight line.
    """
    a = np.asarray(z0, np.float64).reshape(-1)
    b = np.asarray(z1, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise InputError(f"the two ends need the same latent size, got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("the two ends of a latent path must be finite")
    if kind not in KINDS:
        raise InputError(f"path kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if n < 2:
        raise InputError(f"a path needs at least 2 points, got {n}")
    t = np.linspace(0.0, 1.0, n)[:, None]
    linear = (1 - t) * a + t * b
    if kind == "linear":
        return linear.astype(np.float32)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return linear.astype(np.float32)
    ua, ub = a / na, b / nb
    omega = float(np.arccos(np.clip(ua @ ub, -1.0, 1.0)))
    if omega < 1e-6 or np.pi - omega < 1e-6:  # parallel, or opposite (no unique circle)
        return linear.astype(np.float32)
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    norms = (1 - t) * na + t * nb
    path = direction * norms
    path[0], path[-1] = a, b  # exact ends
    return path.astype(np.float32)


def decode_path(model: Any, z0: Any, z1: Any, n: int, kind: str = "linear") -> np.ndarray:
    """Mean images [n, 784] (float32 in [0, 1]) decoded along :func:`latent_path`."""
    from .latent import decode_latents

    z = latent_path(z0, z1, n, kind)
    return decode_latents(model, z).reshape(n, IMAGE_SIDE * IMAGE_SIDE)


def strip_picture(images: Any, pad: int = 2) -> np.ndarray:
    """One row of the decoded images, float [28, n*(28+pad) - pad] in [0, 1], separated by
    white gaps (save it with the figures' PNG route: gui.figure_render.render_labelled_image)."""
    from .latent import tile_images

    tiles = np.asarray(images, np.float32).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    strip = tile_images(tiles, 1, tiles.shape[0], pad=pad)
    return strip[:IMAGE_SIDE, : strip.shape[1] - pad] if pad else strip


def interpolation_picture(
    model: Any, z0: Any, z1: Any, n: int, kinds: tuple[str, ...] = KINDS, pad: int = 2
) -> np.ndarray:
    """One strip per path kind, stacked: float [len(kinds) * (28 + pad), n * (28 + pad)]."""
    from .latent import tile_images

    rows = [decode_path(model, z0, z1, n, kind) for kind in kinds]
    tiles = np.concatenate(rows).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    return tile_images(tiles, len(kinds), n, pad=pad)

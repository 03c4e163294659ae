"""Brush footprints for the 28x28 painting canvas (plain numpy, no Qt).

A stroke segment from p0 to p1 (pixel coordinates, x = column, y = row, pixel (r, c)
covering [c, c+1) x [r, r+1)) covers each pixel by how far its centre lies from the
segment: fully inside ``radius - softness/2``, fading linearly to 0 at
``radius + softness/2``. Dabbing a whole segment at once makes fast mouse moves leave
a continuous line, and points outside the canvas simply touch no pixels.
"""

from __future__ import annotations

import numpy as np

from ...core.image import IMAGE_SIDE

MIN_RADIUS = 0.5
MAX_RADIUS = 6.0
# Pixel centres, [IMAGE_SIDE, IMAGE_SIDE] each: x = column + 0.5, y = row + 0.5.
_CY, _CX = np.mgrid[0:IMAGE_SIDE, 0:IMAGE_SIDE].astype(np.float64) + 0.5


def segment_distance(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Distance [28, 28] from every pixel centre to the segment (x0, y0)-(x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 <= 1e-12:
        t = np.zeros_like(_CX)
    else:
        t = np.clip(((_CX - x0) * dx + (_CY - y0) * dy) / length2, 0.0, 1.0)
    return np.hypot(_CX - (x0 + t * dx), _CY - (y0 + t * dy))


def footprint(
    x0: float, y0: float, x1: float, y1: float, radius: float, softness: float | None = None
) -> np.ndarray:
    """Coverage [28, 28] in [0, 1] of a round brush dragged from (x0, y0) to (x1, y1).

    ``softness`` (the width of the fading rim, in pixels) defaults to min(1, radius), so a
    one-pixel brush is a crisp pencil and larger ones have MNIST's soft edge.
    """
    coords = np.array([x0, y0, x1, y1], np.float64)
    if not np.all(np.isfinite(coords)):
        return np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float32)
    # Far-away points cannot touch the canvas; clamping keeps the arithmetic tame.
    x0, y0, x1, y1 = np.clip(coords, -1e4, 1e4).tolist()
    d = segment_distance(x0, y0, x1, y1)
    r = float(np.clip(radius, MIN_RADIUS, MAX_RADIUS))
    s = max(min(1.0, r) if softness is None else float(softness), 1e-6)
    return np.clip((r + s / 2 - d) / s, 0.0, 1.0).astype(np.float32)


def apply_ink(ink: np.ndarray, cover: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Ink after painting: each pixel keeps the darker of its ink and the brush's."""
    return np.maximum(ink, np.clip(cover * strength, 0.0, 1.0)).astype(np.float32)


def apply_eraser(ink: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Ink after erasing: the brush removes ink in proportion to its coverage."""
    return (ink * (1.0 - cover)).astype(np.float32)


def apply_mask(mask: np.ndarray, cover: np.ndarray, missing: bool = True) -> np.ndarray:
    """Mask after a mask stroke: pixels at least half covered become missing (or observed)."""
    hit = cover >= 0.5
    return (mask | hit) if missing else (mask & ~hit)

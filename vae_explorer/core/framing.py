"""A drawing framed the way MNIST's digits were prepared (LeCun et al., the MNIST page):
each digit's ink was scaled, aspect kept, to fit a 20 x 20 box, then placed in the 28 x 28
image with its centre of mass at the centre. A model trained on MNIST has seen nothing
else; a digit drawn across the whole canvas, or in a corner, is far from its data (a bold
"2" filling the canvas was classified as 8 with 100%)."""

from __future__ import annotations

from typing import Any

import numpy as np

SIDE = 28
BOX = 20  # the longer side of a digit's ink after framing
INK = 0.05  # pixels below this do not count as ink when the bounding box is found


def frame_like_mnist(image: Any) -> np.ndarray:
    """``image`` (784 or 28 x 28 values in [0, 1]) framed as MNIST's digits are: float32 [784].
    An image without ink is returned unchanged."""
    import torch
    import torch.nn.functional as F

    img = np.clip(np.asarray(image, np.float32).reshape(SIDE, SIDE), 0.0, 1.0)
    ink = img > INK
    if not ink.any():
        return img.reshape(-1).copy()
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = BOX / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    resized = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(crop))[None, None], size=size, mode="bilinear",
        antialias=True, align_corners=False,
    )[0, 0].clamp_(0.0, 1.0).numpy()  # fmt: skip
    mass = float(resized.sum())
    ys, xs = np.indices(resized.shape)
    cy, cx = float((ys * resized).sum()) / mass, float((xs * resized).sum()) / mass
    centre = (SIDE - 1) / 2  # pixel indices: the middle of the 28 x 28 field
    top, left = round(centre - cy), round(centre - cx)
    out = np.zeros((SIDE, SIDE), np.float32)
    # Placed with its centre of mass at the centre; what would fall outside is cut.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + size[0], SIDE), min(left + size[1], SIDE)
    out[r0:r1, c0:c1] = resized[r0 - top : r1 - top, c0 - left : c1 - left]
    return out.reshape(-1)

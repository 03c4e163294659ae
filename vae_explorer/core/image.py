"""The image format every part of the app shares: 28 x 28 greyscale, pixels in [0, 1].

Torch-free on purpose: the data layer imports it, and reading a dataset must not pay for
importing torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE


def to_uint8(images: Any) -> np.ndarray:
    """Float pixels in [0, 1] as contiguous uint8 0-255 (rounded, clipped); uint8 passes through.

    The one float -> byte conversion, used for figures, PNGs and the app's images.
    """
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray((np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def as_float_images(images: Any) -> np.ndarray:
    """Images (uint8 0-255 or float [0, 1]; numpy or torch; [N, 784] or [N, 28, 28]) as
    float32 [N, 28, 28] in [0, 1]."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    a = np.asarray(images)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    return a.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)

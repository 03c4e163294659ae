"""Helpers for the panel tests: decoding without the GUI, clicks on a picture's pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint


def decode(model, z) -> np.ndarray:
    """Mean images [B, 28, 28] of codes ``z`` [B, latent_dim], decoded without the GUI."""
    from vae_explorer.core.latent import decode_latents

    return decode_latents(model, np.asarray(z, np.float32).reshape(-1, model.latent_dim))


def image_point(canvas, x: float, y: float) -> QPoint:
    """Widget coordinates of image pixel position (x, y) in an ImageCanvas (image -> widget)."""
    r = canvas.target_rect()
    image = canvas.image()
    h, w = image.shape
    return QPoint(round(r.x() + x / w * r.width()), round(r.y() + y / h * r.height()))

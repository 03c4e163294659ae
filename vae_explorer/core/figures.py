"""The seed article's pictures as arrays, and the one class palette.

- ``latent_grid_figure``: decoded latent grid (the manifold, figures 8 and 9), spaced by
  the inverse Gaussian CDF so each tile covers an equal share of the prior's mass;
- ``imputation_figure``: rows original / masked / imputed (figures 12 and 13), with the
  missing pixels tinted in the masked row so they read as "hidden", not as "black";
- ``CLASS_PALETTE`` / ``class_colours``: the colours of the classes, in the app's latent
  scatter and in exported figures alike.

Text (legends, axis labels) needs fonts, so it is drawn by vae_explorer.gui.figure_render.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import IMAGE_SIDE, as_float_images
from .latent import decode_latents, grid_axes, grid_latents, tile_images
from .model import VAE

__all__ = [
    "CLASS_PALETTE",
    "MISSING_TINT",
    "class_colours",
    "imputation_figure",
    "latent_grid_figure",
]

# One colour per class (Tableau 10), the palette of the app's scatter and of every figure.
CLASS_PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
MISSING_TINT = np.array([70, 110, 200], np.float32) / 255  # hidden pixels, in the masked row


def class_colours(n: int) -> np.ndarray:
    """RGB uint8 [n, 3] (0-255) for n classes from ``CLASS_PALETTE`` (repeating after ten)."""
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CLASS_PALETTE], np.uint8)
    return rgb[np.arange(n) % len(CLASS_PALETTE)]


def latent_grid_figure(
    model: VAE, n: int = 20, tail: float = 0.05, dims: tuple[int, int] = (0, 1), pad: int = 0
) -> np.ndarray:
    """Decoded latent grid, float [n*28, n*28] in [0, 1] (top row = largest z_2).

    Other latent dimensions are held at the prior mean 0.
    """
    xs, ys = grid_axes(n, "gaussian", tail=tail)
    z = grid_latents(xs, ys, latent_dim=model.latent_dim, dims=dims)
    return tile_images(decode_latents(model, z), n, n, pad=pad)


def imputation_figure(originals: Any, mask: Any, imputed_rows: list[Any], pad: int = 2) -> np.ndarray:
    """RGB float [rows*(28+pad), k*(28+pad), 3]: originals, masked, then each imputed row.

    ``originals`` [k, 784] in [0, 1], ``mask`` bool [k, 784] (True = missing), each of
    ``imputed_rows`` [k, 784]. The masked row shows missing pixels in a blue tint.
    """
    orig = as_float_images(originals)
    k = orig.shape[0]
    m = np.asarray(mask, bool).reshape(k, IMAGE_SIDE, IMAGE_SIDE)
    grey_rows = [orig] + [as_float_images(r) for r in imputed_rows]
    rgb_rows = [np.repeat(r[..., None], 3, axis=-1) for r in grey_rows]
    masked = rgb_rows[0].copy()
    masked[m] = MISSING_TINT
    rgb_rows.insert(1, masked)
    tiles = np.concatenate(rgb_rows)  # [(rows)*k, 28, 28, 3]
    rows = len(rgb_rows)
    channels = [tile_images(tiles[..., c], rows, k, pad=pad) for c in range(3)]
    return np.stack(channels, axis=-1)

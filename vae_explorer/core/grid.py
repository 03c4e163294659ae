"""A decoded latent grid (the "manifold" picture): its axes, codes, mosaic and extent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .latent import decode_latents, grid_axes, grid_latents, tile_images
from .model import VAE

Range = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class DecodedGrid:
    """A grid of decoded codes, ``rows`` x ``cols``: axes (rows ascending), full codes, mosaic
    (row 0 at the top, i.e. the LARGEST y), and the latent rectangle the mosaic covers."""

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray  # [rows * cols, latent_dim], row-major from the top row
    mosaic: np.ndarray  # float32 [28 rows, 28 cols]
    extent: tuple[float, float, float, float]  # x, y, width, height in latent units

    @property
    def cols(self) -> int:
        return len(self.xs)

    @property
    def rows(self) -> int:
        return len(self.ys)

    def tile_latent(self, row: int, col: int) -> np.ndarray:
        return self.z[row * self.cols + col].copy()


def decode_grid(
    model: VAE,
    n: int,
    spacing: str,
    dims: tuple[int, int],
    visible: Range,
    plane_codes: Callable[[np.ndarray], np.ndarray] | None = None,
) -> DecodedGrid:
    """Decode a grid in the two latent ``dims`` (the others at 0): n x n spaced by the
    prior's quantiles ("gaussian"), or square tiles over the ``visible`` range, n along its
    shorter side (latent.grid_axes).

    ``plane_codes``: for a grid on another plane than two axes (a PCA plane), the codes
    [N, d] its points [N, 2] stand for; the axes are then that plane's coordinates."""
    xs, ys = grid_axes(n, spacing, visible)
    dims = dims if model.latent_dim > 1 else (0, 0)
    if plane_codes is None:
        z = grid_latents(xs, ys, model.latent_dim, dims)
    else:
        points = grid_latents(xs, ys, 2, (0, 1))
        z = np.asarray(plane_codes(points), np.float32).reshape(len(points), model.latent_dim)
    cols, rows = len(xs), len(ys)
    mosaic = tile_images(decode_latents(model, z), rows, cols)
    if spacing == "visible":  # the tiles cover the range exactly (one tile included)
        (x0, x1), (y0, y1) = visible
        extent = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
    else:
        dx = (xs[-1] - xs[0]) / max(cols - 1, 1)
        dy = (ys[-1] - ys[0]) / max(rows - 1, 1)
        extent = (
            float(xs[0] - dx / 2),
            float(ys[0] - dy / 2),
            float(xs[-1] - xs[0] + dx),
            float(ys[-1] - ys[0] + dy),
        )
    return DecodedGrid(xs, ys, z, mosaic, extent)

"""Latent-space helpers: encode a dataset, build latent grids (the manifold picture).

A grid's axes come from :func:`grid_axes`, in one of two spacings: "gaussian" (equal shares
of the prior's mass, the AEVB paper's manifold) or "visible" (tiles filling the part of
latent space on screen).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .devices import available_memory
from .image import IMAGE_PIXELS, IMAGE_SIDE
from .model import VAE, InputError, as_image_tensor

GRID_SPACINGS = ("gaussian", "visible")
Range = tuple[float, float]
# A "visible" grid has n tiles along the shorter side of the range and square tiles: at most
# this many times n along the longer side (a view far wider than tall).
MAX_GRID_ASPECT = 4


@torch.no_grad()
def encode_images(model: VAE, images: Any, batch_size: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances [N, latent_dim] as fresh float32 numpy arrays."""
    was_training = model.training
    model.eval()
    x = as_image_tensor(images)
    device = model.device
    mus, logvars = [], []
    for start in range(0, x.shape[0], batch_size):
        mu, logvar = model.encode(x[start : start + batch_size].to(device))
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    model.train(was_training)
    if not mus:
        empty = np.zeros((0, model.latent_dim), np.float32)
        return empty, empty.copy()
    return torch.cat(mus).numpy().copy(), torch.cat(logvars).numpy().copy()


def gaussian_grid_axis(n: int, tail: float = 0.05) -> np.ndarray:
    """n points spaced by the inverse Gaussian CDF on [tail, 1 - tail] (AEVB paper, Keras).

    Equal steps in probability, so each tile covers an equal share of the prior's mass.
    """
    if n < 1:
        raise ValueError(f"grid size must be >= 1, got {n}")
    if not 0 < tail < 0.5:
        raise ValueError(f"tail must be in (0, 0.5), got {tail}")
    if n == 1:
        return np.zeros(1)
    p = np.linspace(tail, 1 - tail, n)
    return np.sqrt(2.0) * _erfinv(2 * p - 1)


def _erfinv(y: np.ndarray) -> np.ndarray:
    return torch.special.erfinv(torch.as_tensor(y, dtype=torch.float64)).numpy()


def tile_centres(lo: float, hi: float, n: int) -> np.ndarray:
    """Centres of n equal tiles covering [lo, hi]: lo + d/2, ..., hi - d/2 with d = (hi - lo)/n."""
    if n < 1:
        raise ValueError(f"grid size must be >= 1, got {n}")
    d = (hi - lo) / n
    return np.linspace(lo + d / 2, hi - d / 2, n)


def grid_axes(
    n: int, spacing: str = "gaussian", visible: tuple[Range, Range] | None = None, tail: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """x and y values (ascending) of a latent grid.

    "gaussian": n x n inverse-normal-CDF quantiles on [tail, 1 - tail], the same for x and y;
    "visible": the centres of equal, square tiles over ``visible`` = ((x0, x1), (y0, y1)),
    n along its shorter side (:func:`square_tiles`), so a mosaic drawn on that rectangle
    puts each decoded image over its own z, undistorted.
    """
    if spacing == "gaussian":
        axis = gaussian_grid_axis(n, tail)
        return axis, axis.copy()
    if spacing == "visible":
        if visible is None:
            raise ValueError('the "visible" spacing needs the visible range ((x0, x1), (y0, y1))')
        (x0, x1), (y0, y1) = visible
        cols, rows = square_tiles(n, x1 - x0, y1 - y0)
        return tile_centres(x0, x1, cols), tile_centres(y0, y1, rows)
    raise ValueError(f"unknown grid spacing {spacing!r}; choose one of {GRID_SPACINGS}")


def square_tiles(n: int, width: float, height: float) -> tuple[int, int]:
    """Columns and rows of tiles as near square as whole numbers allow over a ``width`` x
    ``height`` rectangle: n along the shorter side, up to MAX_GRID_ASPECT * n along the
    longer (n x n for an empty or unbounded rectangle)."""
    if n < 1:
        raise ValueError(f"grid size must be >= 1, got {n}")
    if not (np.isfinite(width) and np.isfinite(height)) or width <= 0 or height <= 0:
        return n, n
    longer = min(max(round(n * max(width, height) / min(width, height)), n), MAX_GRID_ASPECT * n)
    return (longer, n) if width > height else (n, longer)


def grid_latents(
    x_values: np.ndarray,
    y_values: np.ndarray,
    latent_dim: int = 2,
    dims: tuple[int, int] = (0, 1),
) -> np.ndarray:
    """Latent codes [ny * nx, latent_dim] for a grid; row 0 is the TOP row (largest y).

    Dimensions other than ``dims`` are held at 0 (the prior mean).
    """
    xs = np.asarray(x_values, np.float32)
    ys = np.asarray(y_values, np.float32)[::-1]
    gx, gy = np.meshgrid(xs, ys)
    z = np.zeros((gx.size, latent_dim), np.float32)
    z[:, dims[0]] = gx.ravel()
    if latent_dim > 1:
        z[:, dims[1]] = gy.ravel()
    return z


_ALWAYS_FITS_BYTES = 16 << 20


@torch.no_grad()
def decode_latents(model: VAE, z: Any, batch_size: int = 10_000) -> np.ndarray:
    """Mean images [N, 28, 28] float32 in [0, 1] for latent codes z [N, latent_dim].

    Decoded in batches into one output array, so memory is the result plus one batch; a
    result that cannot fit in free memory is refused (InputError) before any work.
    """
    try:
        zs = np.asarray(z, np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"latent codes must be an array of numbers ({exc})") from None
    if zs.ndim == 1:
        zs = zs[None]
    if zs.ndim != 2 or zs.shape[1] != model.latent_dim:
        raise InputError(
            f"latent codes must have shape [N, {model.latent_dim}] (this model's latent size), got {zs.shape}"
        )
    needed = zs.shape[0] * IMAGE_PIXELS * 4
    # A click's few images need no look at the system's memory (a file read per call).
    if needed > _ALWAYS_FITS_BYTES and needed > available_memory():
        raise InputError(
            f"decoding {zs.shape[0]:,} latent codes needs {needed / 1e9:,.1f} GB for the images, "
            f"more than the {available_memory() / 1e9:,.1f} GB of memory free"
        )
    out = np.empty((zs.shape[0], IMAGE_SIDE, IMAGE_SIDE), np.float32)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, zs.shape[0], batch_size):
            zt = torch.from_numpy(zs[start : start + batch_size]).to(model.device)
            images = model.decode(zt).float().cpu().numpy()
            out[start : start + batch_size] = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    finally:
        model.train(was_training)
    return out


def tile_images(images: np.ndarray, rows: int, cols: int, pad: int = 0) -> np.ndarray:
    """Arrange [rows*cols, h, w] images into one [rows*h, cols*w] mosaic (row-major)."""
    n, h, w = images.shape
    if n != rows * cols:
        raise ValueError(f"need {rows * cols} images for a {rows}x{cols} mosaic, got {n}")
    if pad:
        images = np.pad(images, ((0, 0), (0, pad), (0, pad)), constant_values=1.0)
        h, w = h + pad, w + pad
    return images.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)

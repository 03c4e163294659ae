"""Latent traversals (as in the beta-VAE papers): move one dimension at a time from a code
and decode. Rows are dimensions, columns are values from -3 to +3 standard deviations of
that dimension (over the test set's latent means, or of the prior: 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import IMAGE_SIDE
from .model import InputError


def traversal_values(n: int = 9, spread: float = 3.0) -> np.ndarray:
    """``n`` evenly spaced multiples of a standard deviation, from -spread to +spread."""
    if n < 2:
        raise InputError(f"a traversal needs at least 2 values, got {n}")
    return np.linspace(-spread, spread, n)


def dimension_sigmas(latent_means: Any | None, latent_dim: int) -> np.ndarray:
    """Standard deviation of each dimension over the test means; the prior's 1 when none
    are given (or where a dimension does not vary at all)."""
    if latent_means is None:
        return np.ones(latent_dim)
    mu = np.asarray(latent_means, np.float64)
    if mu.ndim != 2 or mu.shape[1] != latent_dim:
        raise InputError(f"latent means must have shape [N, {latent_dim}], got {mu.shape}")
    sigma = mu.std(axis=0) if mu.shape[0] > 1 else np.ones(latent_dim)
    return np.where(sigma > 0, sigma, 1.0)


def traversal_codes(z: Any, dims: Any, values: Any, sigmas: Any, centred: bool = False) -> np.ndarray:
    """Codes [len(dims) * len(values), d]: row r sets dimension dims[r] of ``z`` to
    ``z[dim] + v * sigma[dim]`` (``centred``: ``v * sigma[dim]``) for each v of ``values``."""
    base = np.asarray(z, np.float64).reshape(-1)
    ds = [int(d) for d in np.atleast_1d(dims)]
    bad = [d for d in ds if not 0 <= d < base.size]
    if bad:
        raise InputError(f"dimensions {bad} are outside this model's {base.size} latent dimensions")
    vs = np.asarray(values, np.float64).reshape(-1)
    sig = np.asarray(sigmas, np.float64).reshape(-1)
    codes = np.repeat(base[None], len(ds) * len(vs), axis=0).reshape(len(ds), len(vs), base.size)
    for r, d in enumerate(ds):
        codes[r, :, d] = (0.0 if centred else base[d]) + vs * sig[d]
    return codes.reshape(-1, base.size).astype(np.float32)


def traversal_grid(
    model: Any,
    z: Any,
    dims: Any = None,
    values: Any = None,
    latent_means: Any | None = None,
    centred: bool = False,
) -> np.ndarray:
    """Decoded traversals [len(dims), len(values), 28, 28] (float32 in [0, 1]) from ``z``.

    ``dims``: the dimensions (rows; default all); ``values``: multiples of each
    dimension's standard deviation (columns; default 9 from -3 to 3); the deviations come
    from ``latent_means`` [N, d] (e.g. the test set's) or, without them, the prior's 1.
    """
    from .latent import decode_latents

    d = model.latent_dim
    dims = list(range(d)) if dims is None else dims
    values = traversal_values() if values is None else values
    codes = traversal_codes(z, dims, values, dimension_sigmas(latent_means, d), centred)
    images = decode_latents(model, codes)
    return images.reshape(len(np.atleast_1d(dims)), -1, IMAGE_SIDE, IMAGE_SIDE)


def traversal_picture(grid: np.ndarray, pad: int = 2) -> np.ndarray:
    """The grid as one float picture [rows*(28+pad), cols*(28+pad)] (PNG via the figures' route)."""
    from .latent import tile_images

    rows, cols = grid.shape[:2]
    return tile_images(grid.reshape(rows * cols, IMAGE_SIDE, IMAGE_SIDE), rows, cols, pad=pad)

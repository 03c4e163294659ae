"""One-dimensional Chebyshev tools for the log-joint interpolants (tiles.py, refine.py).

Values at n Chebyshev extreme points of an interval define the degree n - 1 interpolant:
evaluated anywhere by the barycentric formula, turned into Chebyshev coefficients by a DCT-I
(the last coefficients estimate the interpolation error: they decay geometrically once the
function is resolved), and integrated by Clenshaw-Curtis weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


@lru_cache(maxsize=16)
def chebyshev_nodes(n: int) -> np.ndarray:
    """n Chebyshev extreme points in [0, 1], increasing (both ends included)."""
    return (1.0 - np.cos(np.pi * np.arange(n) / (n - 1))) / 2.0


@lru_cache(maxsize=16)
def _weights(n: int) -> np.ndarray:
    w = (-1.0) ** np.arange(n)
    w[0] *= 0.5
    w[-1] *= 0.5
    return w


def barycentric_matrix(n: int, t: np.ndarray) -> np.ndarray:
    """B [..., n] with B @ values = the degree n-1 interpolant at t (in [0, 1]; same shape
    prefix as t) through the n Chebyshev points; exact at the nodes."""
    return barycentric_torch(n, torch.from_numpy(np.asarray(t, dtype=np.float64))).numpy()


def barycentric_torch(n: int, t: torch.Tensor) -> torch.Tensor:
    """barycentric_matrix on a float64 tensor t (multi-threaded; no numpy temporaries)."""
    nodes = torch.from_numpy(chebyshev_nodes(n))
    diff = t[..., None] - nodes
    hit = diff == 0.0
    terms = torch.from_numpy(_weights(n)) / torch.where(hit, 1.0, diff)
    b = terms / terms.sum(-1, keepdim=True)
    if bool(hit.any()):
        b = torch.where(hit.any(-1, keepdim=True), hit.to(b.dtype), b)
    return b


@lru_cache(maxsize=16)
def coefficient_matrix(n: int) -> np.ndarray:
    """M with M @ values = Chebyshev coefficients of the interpolant (DCT-I)."""
    big_n = n - 1
    j = np.arange(n)
    m = np.cos(np.pi * np.outer(j, j) / big_n) * (2.0 / big_n)
    m[:, 0] *= 0.5
    m[:, -1] *= 0.5
    m[0] *= 0.5
    m[-1] *= 0.5
    return m


@lru_cache(maxsize=16)
def clenshaw_curtis(n: int) -> np.ndarray:
    """Weights [n] (sum 1) with weights @ values = the mean over [0, 1] of the interpolant."""
    k = np.arange(n)
    integrals = np.where(k % 2 == 0, 2.0 / (1.0 - np.square(k.astype(np.float64)) + (k == 1)), 0.0)
    return 0.5 * integrals @ coefficient_matrix(n)


@lru_cache(maxsize=16)
def halves(n: int) -> np.ndarray:
    """B [2, n, n]: B[j] @ values = the interpolant at the Chebyshev points of half j of [0, 1]
    (the same polynomial, so a tile cut in two keeps its interpolant exactly)."""
    return np.stack([barycentric_matrix(n, (j + chebyshev_nodes(n)) / 2.0) for j in (0, 1)])


def axis_tails(values: np.ndarray) -> np.ndarray:
    """Error estimates [..., 2] along dim 0 (columns) and dim 1 (rows) of values [..., n1, n0] at
    Chebyshev points: the last two coefficients along that axis summed over the other axis'
    degrees (a bound on the error of truncating that axis alone)."""
    m1 = torch.from_numpy(coefficient_matrix(values.shape[-2]))
    m0 = torch.from_numpy(coefficient_matrix(values.shape[-1]))
    coef = (m1 @ torch.from_numpy(np.ascontiguousarray(values)) @ m0.T).abs_()
    along0 = coef[..., -2:].sum(-2).amax(-1)
    along1 = coef[..., -2:, :].sum(-1).amax(-1)
    return torch.stack([along0, along1], -1).numpy()

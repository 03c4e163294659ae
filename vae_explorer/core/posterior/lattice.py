"""The log joint on each image's uniform grid, read between grid points by local cubics.

The q* fit (gaussian.best_gaussian) evaluates the log joint at 100 points per Gaussian per
step, for dozens of steps. Reading the piecewise Chebyshev interpolant there costs a gather
of a whole 17 x 17 tile per point (tiles.py); the uniform grid that the quadrature already
holds gives the same values, between its points to the accuracy of a 4 x 4 Lagrange cubic
(exact for cubics; the log joint is close to quadratic where q* sits). The fit does not
need more: the ELBO is stationary at its optimum, so a small error in the fit's objective
moves the optimum's ELBO only to second order, and q*'s ELBO is then taken on the
interpolant itself (solve.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Lattice:
    """Values [b, G, G] (rows = dim 1) on the uniform grid over each box [b, 2, 2]."""

    box: np.ndarray
    values: np.ndarray

    def top(self) -> np.ndarray:
        """The largest grid value per image [b]."""
        return np.asarray(self.values.max(axis=(1, 2)))

    def twice(self) -> Lattice:
        """The same grids for 2b images: image i + b is image i again (no copy of the values)."""
        b = len(self.box)
        return _Twice(np.concatenate([self.box] * 2), self.values, b)

    def at(self, z: np.ndarray, outside: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Values [k, P] at points z [k, P, 2] of images ``which`` [k] (default: all, in order);
        points outside the box get ``outside`` [k]."""
        which = np.arange(len(self.box)) if which is None else np.asarray(which)
        return _cubic(self.values, self._rows(which), self.box[which], z, outside)

    def _rows(self, which: np.ndarray) -> np.ndarray:
        return which


class _Twice(Lattice):
    def __init__(self, box: np.ndarray, values: np.ndarray, b: int) -> None:
        super().__init__(box, values)
        self._b = b

    def top(self) -> np.ndarray:
        return np.concatenate([super().top()] * 2)

    def _rows(self, which: np.ndarray) -> np.ndarray:
        return which % self._b


def _weights(r: torch.Tensor) -> torch.Tensor:
    """Lagrange weights [..., 4] of the nodes 0, 1, 2, 3 at r [...] (r in [0, 3])."""
    a, b, c, d = r, r - 1.0, r - 2.0, r - 3.0
    return torch.stack([-b * c * d / 6.0, a * c * d / 2.0, -a * b * d / 2.0, a * b * c / 6.0], -1)


def _cubic(
    values: np.ndarray, rows: np.ndarray, box: np.ndarray, z: np.ndarray, outside: np.ndarray
) -> np.ndarray:
    """The 4 x 4 local Lagrange cubic of grids values[rows] [k, G, G] over boxes [k, 2, 2] at
    z [k, P, 2] (outside the box: ``outside`` [k])."""
    g = values.shape[-1]
    zt = torch.from_numpy(z)
    lo, hi = torch.from_numpy(box[:, None, :, 0]), torch.from_numpy(box[:, None, :, 1])
    s = (zt - lo) / (hi - lo) * (g - 1)  # grid units, [k, P, 2]
    inside = ((s >= 0) & (s <= g - 1)).all(-1)
    first = torch.clamp(torch.floor(s) - 1.0, 0.0, float(g - 4))
    w = _weights(torch.clamp(s, 0.0, float(g - 1)) - first)  # [k, P, 2, 4]
    start = first.to(torch.int64)
    offsets = torch.arange(4)
    base = torch.from_numpy(np.asarray(rows, dtype=np.int64))[:, None, None, None] * (g * g)
    index = base + (start[..., 1, None, None] + offsets[:, None]) * g + start[..., 0, None, None] + offsets
    flat = torch.from_numpy(values).reshape(-1)
    patch = flat[index]  # [k, P, 4 (dim 1), 4 (dim 0)]
    out = torch.einsum("kpa,kpab,kpb->kp", w[..., 1, :], patch, w[..., 0, :])
    return np.where(inside.numpy(), out.numpy(), outside[:, None])

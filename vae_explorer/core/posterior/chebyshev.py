"""The log joint as a Chebyshev interpolant over each image's box, refined where needed.

The decoder runs at n x n Chebyshev extreme points of the box; the interpolant's last
coefficients along each axis estimate its error. An axis that is not resolved gets 2n - 1
points, which contain the old ones (nested), so only the new points are decoded; the other
axis keeps its points (about half the images the Gaussian model refines need it along one
axis only). The result keeps images grouped by node counts: every later step (the uniform quadrature grid,
values at arbitrary points for the q* fit and the ELBOs) works group by group, so one
unresolved image never makes the whole batch pay for its larger grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..importance import Workspace
from ..model import VAE
from .grid import grid_points, log_joint

TAIL_TOLERANCE = 2e-3  # nats: largest allowed last Chebyshev coefficients
LOG_PX_TOLERANCE = 1e-3  # nats: ... or largest change of log p(x) from the nested coarser level
LOG_PX_GRID = 64  # the uniform grid that log p(x) is checked on
MAX_NODES = 97  # a chain n -> 2n - 1 along an axis stops before exceeding this


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
def _coefficient_matrix(n: int) -> np.ndarray:
    """M with M @ values = Chebyshev coefficients of the interpolant (DCT-I)."""
    big_n = n - 1
    j = np.arange(n)
    m = np.cos(np.pi * np.outer(j, j) / big_n) * (2.0 / big_n)
    m[:, 0] *= 0.5
    m[:, -1] *= 0.5
    m[0] *= 0.5
    m[-1] *= 0.5
    return m


def chebyshev_tail(values: np.ndarray) -> np.ndarray:
    """Estimated interpolation error [b] of values [b, n1, n0] at Chebyshev points: the largest
    of the last two coefficients along either axis (they decay geometrically when resolved)."""
    return axis_tails(values).max(-1)


def axis_tails(values: np.ndarray, summed: bool = False) -> np.ndarray:
    """The error estimates [b, 2] along dim 0 (columns) and dim 1 (rows) of values [b, n1, n0]:
    the largest of the last two coefficients along that axis, or with ``summed`` their sums over
    the other axis' degrees (a bound on the error of truncating that axis alone)."""
    m1 = torch.from_numpy(_coefficient_matrix(values.shape[-2]))
    m0 = torch.from_numpy(_coefficient_matrix(values.shape[-1]))
    coef = (m1 @ torch.from_numpy(values) @ m0.T).abs_()
    if summed:
        along0, along1 = coef[:, :, -2:].sum(1).amax(-1), coef[:, -2:, :].sum(2).amax(-1)
    else:
        along0, along1 = coef[:, :, -2:].amax(dim=(1, 2)), coef[:, -2:, :].amax(dim=(1, 2))
    return torch.stack([along0, along1], -1).numpy()


@dataclass
class LogJoint:
    """Chebyshev interpolants of the log joint of b images over their boxes [b, 2, 2]
    (dim, lo/hi), grouped by node counts: (image indices, node values [k, n1, n0], rows = dim 1)."""

    box: np.ndarray
    groups: list[tuple[np.ndarray, np.ndarray]]
    tails: np.ndarray  # [b] error estimates, nats
    nodes: np.ndarray  # [b] points along the finer axis

    def unresolved(self) -> np.ndarray:
        """Images [b] whose interpolant is not within the tail tolerance everywhere in the box
        (accepted for a converged log p(x), or at the most nodes): decode, don't interpolate."""
        return self.tails > TAIL_TOLERANCE

    def top(self) -> np.ndarray:
        """The largest node value per image [b]."""
        out = np.empty(len(self.box))
        for idx, values in self.groups:
            out[idx] = values.max(axis=(1, 2))
        return out

    def uniform(self, grid: int) -> np.ndarray:
        """The interpolant on each box's uniform grid x grid, [b, G, G] (rows = dim 1)."""
        out = np.empty((len(self.box), grid, grid))
        t = np.linspace(0.0, 1.0, grid)
        for idx, values in self.groups:
            rows = torch.from_numpy(barycentric_matrix(values.shape[-2], t))
            cols = torch.from_numpy(barycentric_matrix(values.shape[-1], t))
            out[idx] = (rows @ torch.from_numpy(values) @ cols.T).numpy()
        return out

    def at(self, z: np.ndarray, outside: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Values [k, P] at points z [k, P, 2] of images ``which`` [k] (default: all b, in
        order); points outside the box get ``outside`` [k]."""
        which = np.arange(len(self.box)) if which is None else np.asarray(which)
        box = self.box[which]
        lo, hi = box[:, None, :, 0], box[:, None, :, 1]
        t = (z - lo) / (hi - lo)
        inside = ((t >= 0) & (t <= 1)).all(-1)
        t = np.clip(t, 0.0, 1.0)
        out = np.empty(z.shape[:2])
        group, row = self._lookup()
        for g, (idx, values) in enumerate(self.groups):
            sel = np.nonzero(group[which] == g)[0]
            if sel.size == 0:
                continue
            n1, n0 = values.shape[-2:]
            v, rows_of = torch.from_numpy(values), row[which[sel]]
            if sel.size < len(idx) or (rows_of != np.arange(len(idx))).any():
                v = v[torch.from_numpy(rows_of)]
            tt = torch.from_numpy(t[sel])
            rows = torch.bmm(barycentric_torch(n1, tt[..., 1]), v)  # [k, P, n0]
            out[sel] = (rows * barycentric_torch(n0, tt[..., 0])).sum(-1).numpy()
        return np.where(inside, out, outside[:, None])

    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Per image [b]: its group's number and its row in that group's values."""
        group = np.empty(len(self.box), dtype=np.int64)
        row = np.empty(len(self.box), dtype=np.int64)
        for g, (idx, _) in enumerate(self.groups):
            group[idx], row[idx] = g, np.arange(len(idx))
        return group, row

    def inside(self, z: np.ndarray) -> np.ndarray:
        """Which points z [b, P, 2] lie in their image's box (bool [b, P])."""
        return np.asarray(((z >= self.box[:, None, :, 0]) & (z <= self.box[:, None, :, 1])).all(-1))


def _decode_nodes(
    model: VAE,
    x: torch.Tensor,
    box: torch.Tensor,
    shape: tuple[int, int],
    workspace: Workspace,
    keep: torch.Tensor | None,
) -> torch.Tensor:
    """The log joint at the Chebyshev points of each box, shape = (n1, n0) points along dims
    1 and 0: float64 [k, n1, n0]. ``keep`` [k, m1, m0] holds the values at the previous level's
    points (nested: every other point along an axis whose count went from m to 2m - 1); only
    the new points are decoded."""
    n1, n0 = shape
    a0 = box[:, 0, :1] + (box[:, 0, 1:] - box[:, 0, :1]) * torch.from_numpy(chebyshev_nodes(n0))
    a1 = box[:, 1, :1] + (box[:, 1, 1:] - box[:, 1, :1]) * torch.from_numpy(chebyshev_nodes(n1))
    points = grid_points(a0, a1)  # [k, n1 * n0, 2]
    if keep is None:
        return log_joint(model, x, points, workspace).view(-1, n1, n0)
    step1 = 2 if keep.shape[1] != n1 else 1
    step0 = 2 if keep.shape[2] != n0 else 1
    new = torch.ones((n1, n0), dtype=torch.bool)
    new[::step1, ::step0] = False
    flat = new.reshape(-1).nonzero().squeeze(1)
    out = torch.empty((len(box), n1, n0), dtype=torch.float64)
    out[:, ::step1, ::step0] = keep
    out.view(len(box), -1)[:, flat] = log_joint(model, x, points[:, flat], workspace)
    return out


def _grid_log_px(values: torch.Tensor) -> torch.Tensor:
    """log p(x) [k] of node values [k, n1, n0] by the uniform LOG_PX_GRID quadrature (up to the
    log cell area, which is the same at every level of one box)."""
    t = np.linspace(0.0, 1.0, LOG_PX_GRID)
    rows = torch.from_numpy(barycentric_matrix(values.shape[-2], t))
    cols = torch.from_numpy(barycentric_matrix(values.shape[-1], t))
    return torch.logsumexp((rows @ values @ cols.T).flatten(1), dim=1)


def chebyshev_log_joint(
    model: VAE, x: torch.Tensor, box: torch.Tensor, nodes: int, workspace: Workspace | None = None
) -> LogJoint:
    """The log joint at nodes x nodes Chebyshev points of each box, refined n -> 2n - 1 (reusing
    the decoded points) while the largest last coefficient exceeds 2e-3 nats, unless log p(x)
    changed by less than 1e-3 nats from the previous level (the tail measures the error
    anywhere in the box, also where the posterior has no mass). Only the axes whose last
    coefficients, summed over the other axis, exceed 2e-3 nats get more points."""
    workspace = workspace or Workspace()
    b = x.shape[0]
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    tails = np.zeros(b)
    used = np.zeros(b, dtype=np.int64)
    # Work items: (image indices, points along dims 1 and 0, values to keep, previous log p(x)).
    work: list[tuple[np.ndarray, tuple[int, int], torch.Tensor | None, torch.Tensor | None]]
    work = [(np.arange(b), (nodes, nodes), None, None)]
    while work:
        todo, shape, keep, previous = work.pop(0)
        idx = torch.from_numpy(todo)
        f = _decode_nodes(model, x[idx], box[idx], shape, workspace, keep)
        tail = chebyshev_tail(f.numpy())
        axis = axis_tails(f.numpy(), summed=True)  # [k, 2]: along dim 0, dim 1
        log_px = _grid_log_px(f)
        converged = np.zeros(len(todo), dtype=bool)
        if previous is not None:
            converged = (log_px - previous).abs().numpy() <= LOG_PX_TOLERANCE
        unresolved = tail > TAIL_TOLERANCE
        grow1 = unresolved & (axis[:, 1] > TAIL_TOLERANCE) & (2 * shape[0] - 1 <= MAX_NODES)
        grow0 = unresolved & (axis[:, 0] > TAIL_TOLERANCE) & (2 * shape[1] - 1 <= MAX_NODES)
        done = converged | ~(grow0 | grow1)
        if done.any():
            groups.append((todo[done], f[torch.from_numpy(done)].numpy()))
            tails[todo[done]], used[todo[done]] = tail[done], max(shape)
        for g1, g0 in ((True, True), (True, False), (False, True)):
            pick = ~done & (grow1 == g1) & (grow0 == g0)
            if pick.any():
                sel = torch.from_numpy(pick)
                next_shape = (2 * shape[0] - 1 if g1 else shape[0], 2 * shape[1] - 1 if g0 else shape[1])
                work.append((todo[pick], next_shape, f[sel], log_px[sel]))
    return LogJoint(box=box.numpy(), groups=groups, tails=tails, nodes=used)

"""The log joint of a batch of images as piecewise Chebyshev interpolants over their boxes.

Each image's box is cut into T1 x T0 tiles (rows = dim 1) by its own cut points along each
axis (a tensor-product tiling); every tile holds the log joint at its own n1 x n0 Chebyshev
points and an error estimate per axis. A tile's values are either decoded or read off the
tile it was cut from (the same polynomial, so with that tile's error). refine.py decides
where to cut: only where the posterior has mass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .chebyshev import barycentric_matrix, barycentric_torch, clenshaw_curtis

TAIL_TOLERANCE = 2e-3  # nats: a tile whose error estimate is below this is "resolved"
_GATHER_DOUBLES = 1 << 21  # at(): tiles gathered per chunk (16 MB of float64)


@dataclass
class Tiles:
    """Images ``idx`` [k] tiled alike: values [k, T1, T0, n1, n0], error estimates
    [k, T1, T0, 2] (along dim 0, dim 1) per tile, and each image's tile edges along dim 0
    [k, T0 + 1] and dim 1 [k, T1 + 1] in box units (0 ... 1, increasing)."""

    idx: np.ndarray
    values: np.ndarray
    tails: np.ndarray
    edges0: np.ndarray
    edges1: np.ndarray

    def error(self) -> np.ndarray:
        """The error estimate of each tile [k, T1, T0], nats."""
        return np.asarray(self.tails.max(-1))

    def mass(self) -> np.ndarray:
        """Each tile's share [k, T1, T0] of the posterior mass (Clenshaw-Curtis sums of
        exp(values - top) times the tile's area)."""
        n1, n0 = self.values.shape[-2:]
        top = self.values.max(axis=(1, 2, 3, 4), keepdims=True)
        integral = np.einsum(
            "a,kIJab,b->kIJ", clenshaw_curtis(n1), np.exp(self.values - top), clenshaw_curtis(n0)
        )
        area = np.diff(self.edges1, axis=1)[:, :, None] * np.diff(self.edges0, axis=1)[:, None, :]
        integral = np.maximum(integral * area, 0.0)
        return integral / integral.sum(axis=(1, 2), keepdims=True)

    def subset(self, pick: np.ndarray) -> Tiles:
        return Tiles(
            self.idx[pick], self.values[pick], self.tails[pick], self.edges0[pick], self.edges1[pick]
        )


@dataclass
class LogJoint:
    """Piecewise Chebyshev interpolants of the log joint of b images over their boxes
    [b, 2, 2] (dim, lo/hi), grouped by tiling (groups of Tiles)."""

    box: np.ndarray
    groups: list[Tiles]
    tails: np.ndarray  # [b] largest error estimate of a tile that can hold mass, nats
    nodes: np.ndarray  # [b] decoded-resolution points along the finer axis: T (n - 1) + 1

    def top(self) -> np.ndarray:
        """The largest node value per image [b]."""
        out = np.empty(len(self.box))
        for g in self.groups:
            out[g.idx] = g.values.max(axis=(1, 2, 3, 4))
        return out

    def twice(self) -> LogJoint:
        """The same interpolants for 2b images: image i + b is image i again."""
        b = len(self.box)
        groups = [
            Tiles(
                np.concatenate([g.idx, g.idx + b]),
                *(np.concatenate([a, a]) for a in (g.values, g.tails, g.edges0, g.edges1)),
            )
            for g in self.groups
        ]
        return LogJoint(
            box=np.concatenate([self.box] * 2),
            groups=groups,
            tails=np.concatenate([self.tails] * 2),
            nodes=np.concatenate([self.nodes] * 2),
        )

    def uniform(self, grid: int) -> np.ndarray:
        """The interpolant on each box's uniform grid x grid, [b, G, G] (rows = dim 1).

        A tiling is a tensor product too: with B_d [G, T_d * n_d] holding each grid point's
        barycentric row in its own tile's block, the grid is B_1 @ V @ B_0^T."""
        out = np.empty((len(self.box), grid, grid))
        t = np.broadcast_to(np.linspace(0.0, 1.0, grid), (1, grid))
        for g in self.groups:
            k, t1, t0, n1, n0 = g.values.shape
            v = torch.from_numpy(g.values.transpose(0, 1, 3, 2, 4).reshape(k, t1 * n1, t0 * n0))
            rows, cols = _block_matrix(t, g.edges1, n1), _block_matrix(t, g.edges0, n0)
            out[g.idx] = (rows @ v @ cols.transpose(1, 2)).numpy()
        return out

    def at(self, z: np.ndarray, outside: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Values [k, P] at points z [k, P, 2] of images ``which`` [k] (default: all b, in
        order); points outside the box get ``outside`` [k]."""
        which = np.arange(len(self.box)) if which is None else np.asarray(which)
        t, inside = self._unit(z, which)
        out = np.empty(z.shape[:2])
        group, row = self._lookup()
        for gi, g in enumerate(self.groups):
            sel = np.nonzero(group[which] == gi)[0]
            if sel.size:
                out[sel] = _evaluate(g, row[which[sel]], t[sel])
        return np.where(inside, out, outside[:, None])

    def resolved(self, z: np.ndarray) -> np.ndarray:
        """Which points z [b, P, 2] lie in their image's box, in a tile whose error estimate
        is within TAIL_TOLERANCE (bool [b, P]): their interpolated values can stand in for
        decodes."""
        t, inside = self._unit(z, np.arange(len(self.box)))
        out = np.zeros(z.shape[:2], dtype=bool)
        for g in self.groups:
            i1, _ = _locate(t[g.idx, :, 1], g.edges1)
            i0, _ = _locate(t[g.idx, :, 0], g.edges0)
            err = g.error()
            out[g.idx] = err[np.arange(len(g.idx))[:, None], i1, i0] <= TAIL_TOLERANCE
        return out & inside

    def inside(self, z: np.ndarray) -> np.ndarray:
        """Which points z [b, P, 2] lie in their image's box (bool [b, P])."""
        return np.asarray(((z >= self.box[:, None, :, 0]) & (z <= self.box[:, None, :, 1])).all(-1))

    def _unit(self, z: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points z [k, P, 2] in box units (clipped to [0, 1]) and whether they were inside."""
        box = self.box[which]
        lo, hi = box[:, None, :, 0], box[:, None, :, 1]
        t = (z - lo) / (hi - lo)
        inside = ((t >= 0) & (t <= 1)).all(-1)
        return np.clip(t, 0.0, 1.0), inside

    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Per image [b]: its group's number and its row in that group's values."""
        group = np.empty(len(self.box), dtype=np.int64)
        row = np.empty(len(self.box), dtype=np.int64)
        for gi, g in enumerate(self.groups):
            group[g.idx], row[g.idx] = gi, np.arange(len(g.idx))
        return group, row


def _locate(t: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tile index and position within the tile (0 ... 1) of points t [k, P] along one axis
    of tilings with edges [k, T + 1]."""
    inner = edges[:, None, 1:-1]
    tile = (t[..., None] >= inner).sum(-1) if inner.shape[-1] else np.zeros(t.shape, dtype=np.int64)
    lo = np.take_along_axis(edges, tile, axis=1)
    hi = np.take_along_axis(edges, tile + 1, axis=1)
    return tile, np.clip((t - lo) / (hi - lo), 0.0, 1.0)


def _block_matrix(t: np.ndarray, edges: np.ndarray, n: int) -> torch.Tensor:
    """[k, P, T * n]: row p holds the barycentric row of t[., p] in its tile's block (t [k or 1,
    P] in box units, edges [k, T + 1])."""
    t = np.broadcast_to(t, (len(edges), t.shape[1]))
    tile, local = _locate(t, edges)
    k, p = t.shape
    out = np.zeros((k, p, edges.shape[1] - 1, n))
    kk, pp = np.meshgrid(np.arange(k), np.arange(p), indexing="ij")
    out[kk, pp, tile] = barycentric_matrix(n, local)
    return torch.from_numpy(out.reshape(k, p, -1))


def _evaluate(g: Tiles, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The interpolants of images ``rows`` of group g at points t [m, P, 2] in box units: [m, P]."""
    values = g.values
    _, t1, t0, n1, n0 = values.shape
    v = torch.from_numpy(values)
    if t1 == t0 == 1:  # one tile: a shared matrix per image
        tt = torch.from_numpy(t)
        vv = v[torch.from_numpy(rows), 0, 0]
        part = torch.bmm(barycentric_torch(n1, tt[..., 1]), vv)  # [m, P, n0]
        return (part * barycentric_torch(n0, tt[..., 0])).sum(-1).numpy()
    i1, s1 = _locate(t[..., 1], g.edges1[rows])
    i0, s0 = _locate(t[..., 0], g.edges0[rows])
    b1 = barycentric_torch(n1, torch.from_numpy(s1))
    b0 = barycentric_torch(n0, torch.from_numpy(s0))
    flat_tiles = v.reshape(-1, n1, n0)
    tile = torch.from_numpy((rows[:, None] * t1 + i1) * t0 + i0)  # [m, P]
    out = torch.empty(t.shape[:2], dtype=torch.float64)
    m, p = tile.shape
    step = max(1, _GATHER_DOUBLES // max(1, p * n1 * n0))
    for s in range(0, m, step):
        gathered = flat_tiles[tile[s : s + step].reshape(-1)].view(-1, p, n1, n0)
        part = torch.einsum("mpa,mpab->mpb", b1[s : s + step], gathered)
        out[s : s + step] = (part * b0[s : s + step]).sum(-1)
    return out.numpy()

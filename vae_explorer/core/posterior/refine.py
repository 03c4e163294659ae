"""Build the piecewise Chebyshev log joint (tiles.py), decoding only where the mass needs it.

The decoder first runs at n x n Chebyshev points of each image's box. Most of a box holds
almost no mass (it reaches 18 nats below the peak), and there the log joint has the sharp
ridges of a decoder switching between digits: one polynomial over the whole box had to
resolve them everywhere (17 -> 33 -> 65 points per axis for about half of the Gaussian
model's images). So an unresolved box is cut along each unresolved axis around its focus
(where the log joint is within 7 nats of its peak), and later tiles that still need it are
cut in half; only the new tiles that matter are decoded, the others keep their parent's
polynomial. A tile matters by its share of the posterior mass times its error: the error of
log p(x) is at most sum(share * (e^err - 1)) over the tiles, so tiles are accepted, smallest
contribution first, while that sum stays within 3e-3 nats (a bound: the errors measured on
test images are about ten times smaller).

``display``: also resolve, to 5e-3 nats, every tile that may hold log densities within 16 nats
of the peak (what a picture of the density shows); the data-set split does not need it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..importance import Workspace
from ..model import VAE
from .chebyshev import axis_tails, barycentric_matrix, chebyshev_nodes
from .grid import grid_points, log_joint
from .tiles import TAIL_TOLERANCE, LogJoint, Tiles

LOG_PX_BUDGET = 3e-3  # nats: the accepted tiles' summed bound on the error of log p(x)
SAFETY = 1.0  # error estimates are multiplied by this before they are weighed
MAX_TILES = 12  # tiles along an axis at most ...
MIN_WIDTH = 1 / 32  # ... and no narrower than this share of the box (after the focus cut)
MIN_PIECE = 0.05  # a focus cut leaves no tile narrower than this share of the box
FOCUS_RANGE = 7.0  # nats: the first cut puts the values within this of the peak in one tile
FOCUS_PAD = 1 / 32  # ... with this margin (share of the box) on each side
DISPLAY_TOLERANCE = 5e-3  # nats, with ``display``: ...
DISPLAY_RANGE = 16.0  # ... in tiles that may hold values within this many nats of the peak


def chebyshev_log_joint(
    model: VAE,
    x: torch.Tensor,
    box: torch.Tensor,
    nodes: int,
    workspace: Workspace | None = None,
    display: bool = False,
) -> LogJoint:
    """The log joint of images x [b, 784] over their boxes [b, 2, 2] as piecewise Chebyshev
    interpolants with nodes x nodes points per tile, cut where the mass needs it."""
    workspace = workspace or Workspace()
    b = x.shape[0]
    box_np = box.numpy()
    images = np.arange(b)
    zeros = np.zeros((b, 1), dtype=np.int64)
    unit = np.tile([0.0, 1.0], (b, 1))
    root = _decode(model, x, box_np, images, zeros, zeros, unit, unit, nodes, workspace)
    work = [Tiles(images, root[:, None, None], axis_tails(root)[:, None, None], unit, unit.copy())]
    done: list[Tiles] = []
    while work:
        g = work.pop()
        need = _needs(g, display)
        cuts0, cuts1 = _cuts(g, need)
        count0 = np.array([len(c) for c in cuts0])
        count1 = np.array([len(c) for c in cuts1])
        finished = (count0 == 0) & (count1 == 0)
        if finished.all():
            done.append(g)
            continue
        if finished.any():
            done.append(g.subset(finished))
        for c1, c0 in sorted({(int(a), int(c)) for a, c in zip(count1, count0, strict=True)} - {(0, 0)}):
            pick = np.nonzero((count1 == c1) & (count0 == c0))[0]
            part = g.subset(pick)
            part_need = need[pick]
            if c1:
                part, part_need = _insert(part, part_need, 1, np.array([cuts1[i] for i in pick]))
            if c0:
                part, part_need = _insert(part, part_need, 0, np.array([cuts0[i] for i in pick]))
            work.append(_decode_needed(model, x, box_np, part, part_need, workspace, display))
    return _summarise(box_np, done)


def _needs(g: Tiles, display: bool) -> np.ndarray:
    """The tiles [k, T1, T0] whose error would cost log p(x) more than the budget allows
    (and, with ``display``, the unresolved tiles that a picture of the density shows)."""
    err = g.error()
    k = len(err)
    bad = np.minimum(SAFETY * err, 40.0)
    cost = (g.mass() * np.exp(bad) * np.expm1(bad)).reshape(k, -1)
    order = np.argsort(cost, axis=1)
    over = np.cumsum(np.take_along_axis(cost, order, axis=1), axis=1) > LOG_PX_BUDGET
    need = np.empty_like(over)
    np.put_along_axis(need, order, over, axis=1)
    need = need.reshape(err.shape) & (err > TAIL_TOLERANCE)
    if display:
        top = g.values.max(axis=(1, 2, 3, 4))[:, None, None]
        shown = g.values.max(axis=(3, 4)) + SAFETY * err > top - DISPLAY_RANGE
        need |= shown & (err > DISPLAY_TOLERANCE)
    return np.asarray(need)


def _cuts(g: Tiles, need: np.ndarray) -> tuple[list[list[float]], list[list[float]]]:
    """Per image, where to cut along dim 0 and dim 1 (box units). An untiled box is cut around
    its focus (where the interpolant is within FOCUS_RANGE of its peak): the focus tile holds
    the mass, and the log joint's ridges lie mostly outside it. A tiled one has every tile
    that needs it cut in half along each axis whose error is over the tolerance."""
    k, t1, t0 = need.shape
    out: tuple[list[list[float]], list[list[float]]] = ([[] for _ in range(k)], [[] for _ in range(k)])
    focus = _focus(g) if t1 == t0 == 1 else None
    for axis, edges, tiles_along in ((0, g.edges0, t0), (1, g.edges1, t1)):
        other = 1 if axis == 0 else 2  # the tile axis of need summed over
        wanted: np.ndarray = np.any(need & (g.tails[..., axis] > TAIL_TOLERANCE), axis=other)  # [k, T]
        widths = np.diff(edges, axis=1)
        for i in np.nonzero(np.any(wanted, axis=1))[0]:
            cut: list[float] = []
            if focus is not None:
                lo, hi = focus[i, axis]
                cut = [c for c in (lo, hi) if MIN_PIECE <= c <= 1.0 - MIN_PIECE]
                if len(cut) == 2 and cut[1] - cut[0] < MIN_PIECE:
                    cut = []
            if not cut and tiles_along < MAX_TILES:
                cut = [
                    float(edges[i, j] + widths[i, j] / 2)
                    for j in np.nonzero(wanted[i] & (widths[i] >= 2 * MIN_WIDTH))[0]
                ][: MAX_TILES - tiles_along]
            out[axis][i] = cut
    return out


def _focus(g: Tiles) -> np.ndarray:
    """Per image [k, 2 (dim), 2 (lo/hi)]: the bounds, in box units, of where the (untiled)
    interpolant is within FOCUS_RANGE of its peak, padded by FOCUS_PAD."""
    n1, n0 = g.values.shape[-2:]
    t = np.linspace(0.0, 1.0, 65)
    f = barycentric_matrix(n1, t) @ g.values[:, 0, 0] @ barycentric_matrix(n0, t).T  # [k, 65, 65]
    inside = f >= f.max(axis=(1, 2), keepdims=True) - FOCUS_RANGE
    out = np.empty((len(f), 2, 2))
    for axis, along in ((0, 1), (1, 2)):
        hit = inside.any(axis=along)  # [k, 65]
        first = hit.argmax(1)
        last = hit.shape[1] - 1 - hit[:, ::-1].argmax(1)
        out[:, axis, 0], out[:, axis, 1] = t[first] - FOCUS_PAD, t[last] + FOCUS_PAD
    return out


def _insert(g: Tiles, need: np.ndarray, axis: int, cuts: np.ndarray) -> tuple[Tiles, np.ndarray]:
    """g with the cut points cuts [k, c] (box units) added along ``axis`` (0 or 1): each new
    tile's values are its parent's polynomial at its own Chebyshev points; it inherits the
    parent's error estimate and need."""
    edges = g.edges0 if axis == 0 else g.edges1
    new_edges = np.sort(np.concatenate([edges, cuts], axis=1), axis=1)
    mid = (new_edges[:, 1:] + new_edges[:, :-1]) / 2
    parent = (mid[..., None] >= edges[:, None, 1:-1]).sum(-1)  # [k, M]
    lo, hi = np.take_along_axis(edges, parent, 1), np.take_along_axis(edges, parent + 1, 1)
    a, b = (new_edges[:, :-1] - lo) / (hi - lo), (new_edges[:, 1:] - lo) / (hi - lo)
    n = g.values.shape[3 + (1 - axis)]
    move = barycentric_matrix(n, a[..., None] + (b - a)[..., None] * chebyshev_nodes(n))  # [k, M, n, n]
    kk = np.arange(len(parent))[:, None]
    if axis == 1:
        values = np.einsum("kmca,kmJab->kmJcb", move, g.values[kk, parent])
        tails, need = g.tails[kk, parent], need[kk, parent]
        return Tiles(g.idx, values, tails, g.edges0, new_edges), need
    values = np.einsum("kmcb,kmIab->kImac", move, g.values[kk, :, parent])
    tails = np.swapaxes(g.tails[kk, :, parent], 1, 2)
    need = np.swapaxes(need[kk, :, parent], 1, 2)
    return Tiles(g.idx, values, np.ascontiguousarray(tails), new_edges, g.edges1), np.ascontiguousarray(need)


def _decode_needed(
    model: VAE,
    x: torch.Tensor,
    box: np.ndarray,
    g: Tiles,
    need: np.ndarray,
    workspace: Workspace,
    display: bool,
) -> Tiles:
    """Decode the new tiles whose parent needed it and that still matter themselves."""
    rows, i1, i0 = np.nonzero(need & _needs(g, display))
    if rows.size:
        n1, n0 = g.values.shape[-2:]
        e0 = np.stack([g.edges0[rows, i0], g.edges0[rows, i0 + 1]], -1)
        e1 = np.stack([g.edges1[rows, i1], g.edges1[rows, i1 + 1]], -1)
        zeros = np.zeros((len(rows), 1), dtype=np.int64)
        fresh = _decode(model, x, box, g.idx[rows], zeros, zeros, e0, e1, n1, workspace, n0)
        g.values[rows, i1, i0] = fresh
        g.tails[rows, i1, i0] = axis_tails(fresh)
    return g


def _decode(
    model: VAE,
    x: torch.Tensor,
    box: np.ndarray,
    images: np.ndarray,
    i1: np.ndarray,
    i0: np.ndarray,
    edges0: np.ndarray,
    edges1: np.ndarray,
    n1: int,
    workspace: Workspace,
    n0: int | None = None,
) -> np.ndarray:
    """The log joint at the n1 x n0 Chebyshev points of tiles [lo, hi] = edges_d[m, i_d : i_d + 2]
    (box units) of the boxes of ``images`` (one entry per tile): float64 [m, n1, n0]."""
    n0 = n1 if n0 is None else n0
    lo, width = box[images, :, 0], box[images, :, 1] - box[images, :, 0]
    u0 = np.take_along_axis(edges0, i0, 1), np.take_along_axis(edges0, i0 + 1, 1)
    u1 = np.take_along_axis(edges1, i1, 1), np.take_along_axis(edges1, i1 + 1, 1)
    a0 = lo[:, 0, None] + width[:, 0, None] * (u0[0] + (u0[1] - u0[0]) * chebyshev_nodes(n0))
    a1 = lo[:, 1, None] + width[:, 1, None] * (u1[0] + (u1[1] - u1[0]) * chebyshev_nodes(n1))
    points = grid_points(torch.from_numpy(a0), torch.from_numpy(a1))
    return log_joint(model, x[torch.from_numpy(images)], points, workspace).view(-1, n1, n0).numpy()


def _summarise(box: np.ndarray, groups: list[Tiles]) -> LogJoint:
    """The LogJoint of the finished groups, with each image's largest error among the tiles
    that may hold values within DISPLAY_RANGE of its peak, and the points per axis its
    smallest tile's spacing would need over the whole box."""
    b = len(box)
    tails = np.zeros(b)
    nodes = np.zeros(b, dtype=np.int64)
    for g in groups:
        err = g.error()
        top = g.values.max(axis=(1, 2, 3, 4))[:, None, None]
        shown = g.values.max(axis=(3, 4)) + err > top - DISPLAY_RANGE
        tails[g.idx] = np.where(shown, err, 0.0).max(axis=(1, 2))
        finest = np.minimum(np.diff(g.edges0, axis=1).min(1), np.diff(g.edges1, axis=1).min(1))
        nodes[g.idx] = np.round((g.values.shape[-1] - 1) / finest).astype(np.int64) + 1
    return LogJoint(box=box, groups=groups, tails=tails, nodes=nodes)

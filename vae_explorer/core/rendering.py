"""Small numpy helpers behind the explorer's views: no Qt, so they are tested headless.

Smoothing of live curves, posterior ellipses, nearest-point lookup, training ETA and the
CSV export of latents live here so the GUI modules only display and dispatch.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def ema_smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard-style), weight in [0, 1).

    ``weight`` 0 returns the values unchanged; 0.9 averages over roughly the last 10 points.
    """
    v = np.asarray(values, np.float64)
    if weight <= 0 or v.size == 0:
        return v.copy()
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.empty_like(v)
    acc = 0.0
    for i, x in enumerate(v.tolist()):
        acc = weight * acc + (1 - weight) * x
        out[i] = acc / (1 - weight ** (i + 1))
    return out


def posterior_ellipse(
    mu: Sequence[float], logvar: Sequence[float], n_sigma: float = 1.0, points: int = 65
) -> tuple[np.ndarray, np.ndarray]:
    """Closed outline (x, y) of the n-sigma contour of an axis-aligned 2-d Gaussian.

    ``mu`` and ``logvar`` are the two shown dimensions of a diagonal posterior q(z|x).
    """
    sd = np.exp(0.5 * np.asarray(logvar, np.float64)[:2]) * n_sigma
    t = np.linspace(0.0, 2 * math.pi, points)
    return mu[0] + sd[0] * np.cos(t), mu[1] + sd[1] * np.sin(t)


def nearest_point(
    xs: np.ndarray,
    ys: np.ndarray,
    x: float,
    y: float,
    scale_x: float = 1.0,
    scale_y: float = 1.0,
    visible: np.ndarray | None = None,
) -> tuple[int, float]:
    """Index of the point nearest (x, y) and its distance, in units of (scale_x, scale_y).

    The scales turn data units into pixels so "near" means near on screen; ``visible`` is
    an optional boolean mask of points that may be picked. (-1, inf) when none qualifies.
    """
    if xs.size == 0:
        return -1, math.inf
    d2 = ((xs - x) / scale_x) ** 2 + ((ys - y) / scale_y) ** 2
    if visible is not None:
        d2 = np.where(visible, d2, np.inf)
    i = int(np.argmin(d2))
    return (i, math.sqrt(float(d2[i]))) if math.isfinite(d2[i]) else (-1, math.inf)


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Remaining seconds at the average pace so far, or None before there is a pace."""
    if done <= 0 or elapsed <= 0 or total <= done:
        return None if done <= 0 or elapsed <= 0 else 0.0
    return elapsed * (total - done) / done


def format_duration(seconds: float | None) -> str:
    """'1:05' / '1:02:03' for a duration; '--' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def latent_plane(z_shown: Sequence[float], latent_dim: int, dims: tuple[int, int]) -> np.ndarray:
    """A full latent code [latent_dim] from the two shown coordinates; other dims are 0."""
    z = np.zeros(latent_dim, np.float32)
    z[dims[0]] = z_shown[0]
    if latent_dim > 1:
        z[dims[1]] = z_shown[1]
    return z


def write_latents_csv(
    path: str | os.PathLike[str],
    mu: np.ndarray,
    logvar: np.ndarray | None,
    labels: np.ndarray | None,
    classes: Sequence[str] | None = None,
) -> Path:
    """Write one row per image: index, label, class name, mu_0.., logvar_0.. ."""
    path = Path(path)
    mu = np.asarray(mu)
    d = mu.shape[1]
    header = ["index", "label", "class"] + [f"mu_{i}" for i in range(d)]
    if logvar is not None:
        header += [f"logvar_{i}" for i in range(d)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(mu.shape[0]):
            label: int | str = ""
            name = ""
            if labels is not None:
                label = int(labels[i])
                name = classes[label] if classes is not None else ""
            row: list[object] = [i, label, name]
            row += [f"{v:.6g}" for v in mu[i].tolist()]
            if logvar is not None:
                row += [f"{v:.6g}" for v in logvar[i].tolist()]
            w.writerow(row)
    return path

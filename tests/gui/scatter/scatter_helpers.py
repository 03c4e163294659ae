"""Helpers for the scatter view tests: a 3-d model, data -> viewport, where to click."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF


def untrained_model(latent_dim: int, seed: int = 1):
    """A small untrained VAE of ``latent_dim`` (its latents sit near 0, all classes mixed)."""
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(seed)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32))


def set_range(view, xr: tuple[float, float], yr: tuple[float, float]) -> None:
    view.vb.setRange(xRange=xr, yRange=yr, padding=0)


def viewport_xy(view, x: float, y: float) -> QPointF:
    """Where data point (x, y) is in the plot's viewport (data -> scene -> viewport)."""
    return view.data_to_viewport(x, y)


def isolated_point(view, min_px: float = 12.0) -> int:
    """A point (on screen, not under the legend) with no other point within ``min_px``."""
    x, y = view.cloud.points()
    (x0, x1), (y0, y1) = view.visible_range()
    px, py = view.vb.viewPixelSize()
    legend = view.legend.sceneBoundingRect()
    for i in np.argsort(np.hypot(x - x.mean(), y - y.mean())):
        d = np.hypot((x - x[i]) / px, (y - y[i]) / py)
        d[i] = np.inf
        pos = viewport_xy(view, x[i], y[i])
        inside = x0 < x[i] < x1 and y0 < y[i] < y1 and 20 < pos.x() < view.plot.width() - 20
        if inside and d.min() > min_px and not legend.contains(view.plot.mapToScene(pos.toPoint())):
            return int(i)
    raise AssertionError("no isolated point on screen")


def empty_spot(view, min_px: float = 20.0) -> tuple[float, float]:
    """A data position on screen with no point within ``min_px`` pixels."""
    x, y = view.cloud.points()
    (x0, x1), (y0, y1) = view.visible_range()
    px, py = view.vb.viewPixelSize()
    legend = view.legend.sceneBoundingRect()
    for fx in np.linspace(0.1, 0.9, 9):
        for fy in np.linspace(0.1, 0.9, 9):
            cx, cy = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
            pos = viewport_xy(view, cx, cy)
            far = np.hypot((x - cx) / px, (y - cy) / py).min() > min_px
            if far and not legend.contains(view.plot.mapToScene(pos.toPoint())):
                return float(cx), float(cy)
    raise AssertionError("no empty spot on screen")

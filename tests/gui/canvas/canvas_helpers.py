"""Helpers for the canvas tests: a small VAE, synthetic test digits, real mouse strokes."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from vae_explorer.core.data import Dataset
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.canvas import CanvasPanel

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


def make_model(latent_dim: int = 2, seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32)).eval()


def digits() -> Dataset:
    """Five synthetic 'test digits': distinct, easy-to-recognise uint8 images."""
    images = np.zeros((5, 28, 28), np.uint8)
    for i in range(5):
        images[i, 4 + i : 24 - i, 8 + 2 * i] = 255
        images[i, 5, 4:20] = 40 * (i + 1)
    return Dataset("synthetic", "test", images, np.arange(5, dtype=np.uint8), [str(i) for i in range(10)])


def at(panel: CanvasPanel, row: float, col: float) -> QPoint:
    """Widget position of the centre of canvas pixel (row, col)."""
    return panel.canvas.pixel_center(row, col).toPoint()


def stroke(qtbot, panel: CanvasPanel, points: list[tuple[float, float]], button=LEFT) -> None:
    """Press at the first (row, col), move through the others, release at the last."""
    canvas = panel.canvas
    qtbot.mousePress(canvas, button, pos=at(panel, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(canvas, at(panel, *p))
    qtbot.mouseRelease(canvas, button, pos=at(panel, *points[-1]))


def set_size(panel: CanvasPanel, size: int) -> None:
    panel.size_spin.setValue(size)
    assert panel.canvas.brush_size() == size


def painted(panel: CanvasPanel) -> list[list[int]]:
    return np.argwhere(panel.canvas.ink_array() > 0).tolist()


def expected_preset(name: str) -> np.ndarray:
    m = np.zeros((28, 28), bool)
    if name == "middle_rows":
        m[9:19] = True
    elif name == "left_half":
        m[:, :14] = True
    elif name == "bottom_half":
        m[14:] = True
    elif name == "centre_square":
        m[7:21, 7:21] = True
    return m

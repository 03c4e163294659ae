"""Helpers shared by the window tests: real mouse events and data -> viewport mapping."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def send_mouse(
    widget,
    kind: QEvent.Type,
    pos: QPointF,
    button=Qt.MouseButton.LeftButton,
    buttons=Qt.MouseButton.LeftButton,
) -> None:
    """Deliver a real QMouseEvent to ``widget`` (QTest cannot move with a button held)."""
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    ev = QMouseEvent(kind, pos, global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def data_pos(window, x: float, y: float) -> QPointF:
    """Viewport coordinates of data point (x, y) in the scatter (data -> scene -> viewport)."""
    return window.scatter.data_to_viewport(x, y)


def decode(model, z) -> np.ndarray:
    from vae_explorer.core.latent import decode_latents

    return decode_latents(model, np.asarray(z, np.float32)[None])[0]


def set_view(window, lo: float = -3.0, hi: float = 3.0) -> None:
    """Show [lo, hi] on both axes of the scatter so fixed coordinates are on screen."""
    window.scatter.vb.setRange(xRange=(lo, hi), yRange=(lo, hi), padding=0)
    QApplication.processEvents()

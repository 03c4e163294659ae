"""Icons for the canvas panel, drawn in code so they need no files and match the canvas."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QRadialGradient,
)

from .paint_canvas import MASK_RGB, SIDE, mask_qimage

_SIZE = 32
_PAPER = QColor(30, 30, 34)
_PINK = QColor(*MASK_RGB)


def _canvas(size: int = _SIZE) -> tuple[QPixmap, QPainter]:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    return pix, p


def _paper(p: QPainter, size: int = _SIZE) -> None:
    p.setPen(QPen(QColor(120, 120, 130), 1))
    p.setBrush(_PAPER)
    p.drawRoundedRect(QRectF(1.5, 1.5, size - 3, size - 3), 5, 5)


def tool_icon(tool: str) -> QIcon:
    """Icon of a canvas tool: "ink", "mask" or "eraser"."""
    pix, p = _canvas()
    _paper(p)
    c = QPointF(_SIZE / 2, _SIZE / 2)
    if tool == "ink":
        grad = QRadialGradient(c, 11)
        grad.setColorAt(0.0, QColor(255, 255, 255))
        grad.setColorAt(0.55, QColor(255, 255, 255))
        grad.setColorAt(1.0, QColor(255, 255, 255, 0))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(grad))
        p.drawEllipse(c, 11, 11)
    elif tool == "mask":
        p.setPen(Qt.PenStyle.NoPen)
        for i in range(4):
            for j in range(4):
                if (i + j) % 2 == 0 or (i in (1, 2) and j in (1, 2)):
                    p.setBrush(_PINK)
                    p.drawRect(QRectF(6 + 5 * j, 6 + 5 * i, 5, 5))
    else:
        p.translate(c)
        p.rotate(-35)
        p.setPen(QPen(QColor(200, 200, 210), 1.2))
        p.setBrush(QColor(240, 240, 245))
        p.drawRoundedRect(QRectF(-11, -6, 14, 12), 2, 2)
        p.setBrush(_PINK)
        p.drawRoundedRect(QRectF(3, -6, 8, 12), 2, 2)
    p.end()
    return QIcon(pix)


def arrow_icon(redo: bool) -> QIcon:
    """A curved arrow: pointing left for undo, right for redo."""
    pix, p = _canvas()
    if redo:
        p.translate(_SIZE, 0)
        p.scale(-1, 1)
    pen = QPen(QColor(225, 225, 232), 2.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    path = QPainterPath(QPointF(9, 12))
    path.cubicTo(QPointF(20, 5), QPointF(30, 14), QPointF(24, 24))
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(225, 225, 232))
    head = QPainterPath(QPointF(4, 12))
    a = math.radians(25)
    head.lineTo(QPointF(12, 12 - 8 * math.sin(a) - 2))
    head.lineTo(QPointF(11, 19))
    head.closeSubpath()
    p.drawPath(head)
    p.end()
    return QIcon(pix)


def clear_icon() -> QIcon:
    """An empty canvas with a cross: clear."""
    pix, p = _canvas()
    _paper(p)
    p.setPen(QPen(QColor(230, 90, 90), 2.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(10, 10), QPointF(22, 22))
    p.drawLine(QPointF(22, 10), QPointF(10, 22))
    p.end()
    return QIcon(pix)


def grid_icon() -> QIcon:
    pix, p = _canvas()
    _paper(p)
    p.setPen(QPen(QColor(170, 170, 180), 1))
    for i in range(1, 4):
        v = 2 + i * 7
        p.drawLine(QPointF(v, 4), QPointF(v, 28))
        p.drawLine(QPointF(4, v), QPointF(28, v))
    p.end()
    return QIcon(pix)


def mask_icon(mask: np.ndarray) -> QIcon:
    """A preset mask as it will look on the canvas: pink where pixels go missing."""
    pix, p = _canvas(SIDE + 4)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    p.fillRect(QRectF(1, 1, SIDE + 2, SIDE + 2), QColor(120, 120, 130))
    p.fillRect(QRectF(2, 2, SIDE, SIDE), _PAPER)
    p.drawImage(QRectF(2, 2, SIDE, SIDE), mask_qimage(np.asarray(mask, bool), alpha=255))
    p.end()
    return QIcon(pix)

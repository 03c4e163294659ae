"""The 28x28 painting canvas: ink, mask and eraser strokes with undo.

The canvas owns two arrays, the ink (float32 [28, 28] in [0, 1], MNIST's white-on-black)
and the mask (bool [28, 28], True = missing): they are the drawing itself, not a copy of
app state. Strokes change them through the numpy brush in :mod:`.brush`; each whole
stroke (press to release), clear, preset mask or loaded digit is one step on the canvas'
QUndoStack.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...core.image import IMAGE_SIDE
from ..images import gray_qimage
from . import brush

SIDE = IMAGE_SIDE
TOOLS = ("ink", "mask", "eraser")
MASK_RGB = (236, 64, 122)  # pink: stands out against both black paper and white ink
MASK_ALPHA = 150
UNDO_LIMIT = 500  # undo steps kept (~8 kB each): a long session's history stays bounded
BACKGROUND = QColor(40, 40, 46)


def mask_qimage(mask: np.ndarray, alpha: int = MASK_ALPHA) -> QImage:
    """A 28x28 ARGB overlay: the mask colour where ``mask`` is True, transparent elsewhere."""
    m = np.asarray(mask, bool)
    rgba = np.zeros(m.shape + (4,), np.uint8)
    rgba[m] = (*MASK_RGB, alpha)
    h, w = m.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class _StateCommand(QUndoCommand):
    """Swap the canvas between two (ink, mask) states; the first redo may be a no-op."""

    def __init__(
        self,
        canvas: PaintCanvas,
        before: tuple[np.ndarray, np.ndarray],
        after: tuple[np.ndarray, np.ndarray],
        text: str,
        applied: bool,
    ) -> None:
        super().__init__(text)
        self._canvas = canvas
        self._before = before
        self._after = after
        self._skip_redo = applied

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._canvas._restore(self._after, from_history=True)

    def undo(self) -> None:
        self._canvas._restore(self._before, from_history=True)


class PaintCanvas(QWidget):
    """A large 28x28 canvas with crisp square pixels and a round soft brush.

    Left drag applies the current tool; right drag does its opposite (ink erases, the mask
    brush un-masks). ``changed`` follows every edit, also during a stroke.
    """

    changed = Signal()
    toolChanged = Signal(str)
    brushSizeChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ink = np.zeros((SIDE, SIDE), np.float32)
        self._mask = np.zeros((SIDE, SIDE), bool)
        self._tool = "ink"
        self._brush_size = 3
        self._grid = True
        self._stroke_before: tuple[np.ndarray, np.ndarray] | None = None
        self._stroke_inverse = False
        self._last: tuple[float, float] | None = None
        self._hover: QPointF | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # --- state ----------------------------------------------------------------------------
    def ink_array(self) -> np.ndarray:
        """A copy of the ink, float32 [28, 28] in [0, 1]."""
        return self._ink.copy()

    def mask_array(self) -> np.ndarray:
        """A copy of the mask, bool [28, 28], True = missing (not QWidget.mask())."""
        return self._mask.copy()

    def is_empty(self) -> bool:
        """True while nothing is drawn (no ink anywhere)."""
        return not self._ink.any()

    def set_ink(self, image: np.ndarray, text: str = "Load image") -> None:
        """Replace the ink (uint8 0-255 or floats in [0, 1], [28, 28] or [784]); undoable."""
        a = np.asarray(image)
        ink = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        ink = np.clip(ink.reshape(SIDE, SIDE), 0.0, 1.0)
        self._push((ink, self._mask.copy()), text)

    def set_mask(self, mask: np.ndarray, text: str = "Set mask") -> None:
        """Replace the mask (bool [28, 28] or [784], True = missing); undoable."""
        m = np.asarray(mask, bool).reshape(SIDE, SIDE).copy()
        self._push((self._ink.copy(), m), text)

    def clear(self) -> None:
        """Remove all ink and the whole mask (one undo step)."""
        self._push((np.zeros_like(self._ink), np.zeros_like(self._mask)), "Clear canvas")

    def clear_mask(self) -> None:
        self._push((self._ink.copy(), np.zeros_like(self._mask)), "Clear mask")

    def _push(self, after: tuple[np.ndarray, np.ndarray], text: str) -> None:
        self._finish_stroke()
        before = (self._ink.copy(), self._mask.copy())
        if _same(before, after):
            return
        self._restore(after)
        self.undo_stack.push(_StateCommand(self, before, after, text, applied=True))

    def _restore(self, state: tuple[np.ndarray, np.ndarray], from_history: bool = False) -> None:
        if from_history:  # Ctrl+Z (or redo) in mid-stroke: the stroke ends unrecorded, or its
            self._stroke_before = self._last = None  # release would record the undone step again
        self._ink = state[0].copy()
        self._mask = state[1].copy()
        self.update()
        self.changed.emit()

    # --- tools ----------------------------------------------------------------------------
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; choose one of {TOOLS}")
        if tool != self._tool:
            self._tool = tool
            self.update()
            self.toolChanged.emit(tool)

    def brush_size(self) -> int:
        """Brush diameter in canvas pixels."""
        return self._brush_size

    def set_brush_size(self, size: int) -> None:
        size = int(np.clip(size, 1, 2 * brush.MAX_RADIUS))
        if size != self._brush_size:
            self._brush_size = size
            self.update()
            self.brushSizeChanged.emit(size)

    def grid_visible(self) -> bool:
        return self._grid

    def set_grid_visible(self, visible: bool) -> None:
        self._grid = bool(visible)
        self.update()

    # --- geometry -------------------------------------------------------------------------
    def cell_size(self) -> int:
        """Screen pixels per canvas pixel (an integer, so pixels stay crisp)."""
        return max(1, min(self.width(), self.height()) // SIDE)

    def canvas_rect(self) -> QRectF:
        c = self.cell_size()
        side = c * SIDE
        return QRectF((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def widget_to_pixel(self, pos: QPointF) -> tuple[float, float]:
        """Widget position -> canvas coordinates (x = column, y = row, pixel centres at +0.5)."""
        r = self.canvas_rect()
        c = self.cell_size()
        return (pos.x() - r.x()) / c, (pos.y() - r.y()) / c

    def pixel_center(self, row: float, col: float) -> QPointF:
        """Widget position of the centre of canvas pixel (row, col)."""
        r = self.canvas_rect()
        c = self.cell_size()
        return QPointF(r.x() + (col + 0.5) * c, r.y() + (row + 0.5) * c)

    def sizeHint(self) -> QSize:
        return QSize(SIDE * 12, SIDE * 12)

    def minimumSizeHint(self) -> QSize:
        return QSize(SIDE * 5, SIDE * 5)  # (whole pixels of 5 px: the Canvas dock fits 1024 x 700)

    # --- strokes --------------------------------------------------------------------------
    def _dab(self, x0: float, y0: float, x1: float, y1: float) -> None:
        cover = brush.footprint(x0, y0, x1, y1, self._brush_size / 2.0)
        if not cover.any():
            return
        tool, inverse = self._tool, self._stroke_inverse
        if tool == "mask":
            self._mask = brush.apply_mask(self._mask, cover, missing=not inverse)
        elif tool == "eraser" or inverse:
            self._ink = brush.apply_eraser(self._ink, cover)
        else:
            self._ink = brush.apply_ink(self._ink, cover)
        self.update()
        self.changed.emit()

    def _finish_stroke(self) -> None:
        before, self._stroke_before, self._last = self._stroke_before, None, None
        if before is None:
            return
        after = (self._ink.copy(), self._mask.copy())
        if not _same(before, after):
            if self._tool == "mask":
                text = "Unmask stroke" if self._stroke_inverse else "Mask stroke"
            else:
                text = "Ink stroke" if self._tool == "ink" and not self._stroke_inverse else "Erase"
            self.undo_stack.push(_StateCommand(self, before, after, text, applied=True))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        self._finish_stroke()
        self._stroke_before = (self._ink.copy(), self._mask.copy())
        self._stroke_inverse = button == Qt.MouseButton.RightButton
        x, y = self.widget_to_pixel(event.position())
        self._last = (x, y)
        self._hover = event.position()
        self._dab(x, y, x, y)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._hover = event.position()
        if self._last is not None and self._stroke_before is not None:
            x, y = self.widget_to_pixel(event.position())
            x0, y0 = self._last
            self._last = (x, y)
            self._dab(x0, y0, x, y)
        else:
            self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._stroke_before is None:
            return super().mouseReleaseEvent(event)
        self._finish_stroke()
        event.accept()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        self._hover = None
        self.update()
        super().leaveEvent(event)

    # --- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        r = self.canvas_rect()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(r, gray_qimage(self._ink))
        if self._mask.any():
            p.drawImage(r, mask_qimage(self._mask))
        c = self.cell_size()
        if self._grid and c >= 6:
            _draw_grid(p, r, c)
        if self._hover is not None and self.underMouse():
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            color = QColor(*MASK_RGB) if self._tool == "mask" else QColor(255, 200, 60)
            p.setPen(
                QPen(
                    color,
                    1.5,
                    Qt.PenStyle.DashLine if self._tool == "eraser" else Qt.PenStyle.SolidLine,
                )
            )
            p.setBrush(Qt.BrushStyle.NoBrush)
            radius = self._brush_size / 2.0 * c
            p.drawEllipse(self._hover, radius, radius)
        p.end()


def _draw_grid(p: QPainter, r: QRectF, cell: int) -> None:
    """Faint lines between pixels, a little stronger every 7 pixels."""
    for i in range(SIDE + 1):
        strong = i % 7 == 0
        p.setPen(QPen(QColor(255, 255, 255, 60 if strong else 22), 1))
        x = r.x() + i * cell
        y = r.y() + i * cell
        p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return bool(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))

"""The scatter's plot widget: routes the mouse for decoding before pyqtgraph sees it.

A left press inside the plot (the legend excepted) belongs to decoding: it skips
pyqtgraph's scene machinery (hover bookkeeping, click synthesis), which would cost about a
millisecond per event on the latency-critical path. Right or middle drag pans, the wheel
zooms (pyqtgraph's own handling); a right click (press and release without a drag, as
pyqtgraph's scene tells them apart) asks for the context menu.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QFocusEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QWidget

FOCUS_RING_PX = 2


class LatentViewBox(pg.ViewBox):
    """Left drag belongs to decoding (handled by the plot widget); right/middle drag pans;
    a right click emits ``rightClicked(view position, screen position)`` instead of
    pyqtgraph's own menu (the scatter's menu offers its "Reset zoom")."""

    rightClicked = Signal(QPointF, QPointF)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.rightClicked.emit(self.mapToView(ev.pos()), QPointF(ev.screenPos()))
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            return
        if ev.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            ev.accept()
            delta = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=delta.x(), y=delta.y())
            return
        super().mouseDragEvent(ev, axis)


class LatentPlot(pg.PlotWidget):
    """PlotWidget that reports raw mouse events in view (data) coordinates.

    ``pressed`` / ``dragged`` / ``released``: a left press in the plot and what follows;
    ``hovered``: a move with no button over the plot; ``left``: the mouse left the plot
    (or moved over the legend, or off the data area).
    """

    pressed = Signal(QPointF)
    dragged = Signal(QPointF)
    released = Signal(QPointF)
    hovered = Signal(QPointF)
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        self.vb = LatentViewBox()
        super().__init__(parent, viewBox=self.vb)
        self._pressing = False
        self.exclude: QGraphicsItem | None = None  # an item whose area is not the plot's

    def _in_plot(self, pos: QPointF) -> QPointF | None:
        scene_pos = self.mapToScene(pos.toPoint())
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        if self.exclude is not None and self.exclude.sceneBoundingRect().contains(scene_pos):
            return None
        return self.vb.mapSceneToView(scene_pos)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if ev.button() == Qt.MouseButton.LeftButton and not self._pressing:
            data = self._in_plot(ev.position())
            if data is not None:
                self._pressing = True
                ev.accept()
                self.pressed.emit(data)
                return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._pressing:
            if ev.buttons() & Qt.MouseButton.LeftButton:
                scene = self.mapToScene(ev.position().toPoint())
                self.dragged.emit(self.vb.mapSceneToView(scene))
                ev.accept()
                return
            self._pressing = False  # the release happened elsewhere
        data = self._in_plot(ev.position())
        if data is not None and not ev.buttons():
            self.hovered.emit(data)
        else:
            self.left.emit()
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if ev.button() == Qt.MouseButton.LeftButton and self._pressing:
            self._pressing = False
            self.released.emit(self.vb.mapSceneToView(self.mapToScene(ev.position().toPoint())))
            ev.accept()
            return
        super().mouseReleaseEvent(ev)

    def leaveEvent(self, ev: QEvent) -> None:  # noqa: N802 - Qt override
        self.left.emit()
        super().leaveEvent(ev)

    # --- the keyboard's focus (keys.py): a ring inside the plot's edge shows it ------------
    def focusInEvent(self, ev: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(ev)
        self.viewport().update()

    def focusOutEvent(self, ev: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(ev)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt override
        super().drawForeground(painter, rect)
        if not self.hasFocus() or not isinstance(painter.device(), QWidget):
            return  # (an export renders the view into a file: never the ring)
        painter.save()
        painter.resetTransform()
        painter.setPen(QPen(self.palette().highlight().color(), FOCUS_RING_PX))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inset = FOCUS_RING_PX / 2
        painter.drawRect(QRectF(self.viewport().rect()).adjusted(inset, inset, -inset, -inset))
        painter.restore()

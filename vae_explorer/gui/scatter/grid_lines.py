"""The latent scatter's grid: lines at the axes' ticks, drawn by one item in the view.

pyqtgraph draws a plot's grid as part of each axis (``showGrid``): the axis then covers
the whole plot, and every range change (a wheel zoom, a pan, a training snapshot moving
the points) renders both axes again into plot-sized pixmaps, about 25 ms a paint on a
software-rendered display. Drawing the same lines here costs well under a millisecond,
so the axes (ticks and labels only) are cheap to redraw.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter

from ..theme import PLOT_FOREGROUND

# pyqtgraph's look for showGrid(alpha=0.15): major lines at that alpha, minor fainter.
LEVEL_ALPHAS = (38, 13)


class GridLines(pg.GraphicsObject):
    """Vertical lines at ``x_axis``'s ticks and horizontal ones at ``y_axis``'s, across
    the view box this item is added to (with ``ignoreBounds=True``)."""

    def __init__(self, x_axis: pg.AxisItem, y_axis: pg.AxisItem) -> None:
        super().__init__()
        self._x_axis, self._y_axis = x_axis, y_axis
        self._pens = []
        for alpha in LEVEL_ALPHAS:
            colour = QColor(PLOT_FOREGROUND)
            colour.setAlpha(alpha)
            self._pens.append(pg.mkPen(colour, width=1))  # cosmetic: 1 px at any zoom
        self._lines: list[list[QLineF]] | None = None  # until the view changes

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        vb = self.getViewBox()
        return QRectF() if vb is None else vb.viewRect()

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph hook
        self._lines = None
        self.prepareGeometryChange()
        self.update()

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph hook (a resize too)
        self._lines = None
        self.update()

    def lines(self) -> list[list[QLineF]]:
        """The lines of each level (major first), in view coordinates."""
        vb = self.getViewBox()
        if vb is None:
            return []
        r = vb.viewRect()
        xs = self._x_axis.tickValues(r.left(), r.right(), max(vb.width(), 1.0))
        ys = self._y_axis.tickValues(r.top(), r.bottom(), max(vb.height(), 1.0))
        levels: list[list[QLineF]] = []
        for level in range(len(LEVEL_ALPHAS)):
            found = [QLineF(x, r.top(), x, r.bottom()) for x in _level(xs, level)]
            found += [QLineF(r.left(), y, r.right(), y) for y in _level(ys, level)]
            levels.append(found)
        return levels

    def paint(self, p: QPainter, *args: Any) -> None:
        # A crosshair move repaints the plot: reuse the lines until the view changes.
        if self._lines is None:
            self._lines = self.lines()
        for pen, level in zip(self._pens, self._lines, strict=False):  # none without a view
            if level:
                p.setPen(pen)
                p.drawLines(level)


def _level(ticks: list[tuple[float, list[float]]], level: int) -> list[float]:
    return list(ticks[level][1]) if level < len(ticks) else []

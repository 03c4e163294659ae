"""What an SVG export of the scatter may draw: only what lies inside the plot.

Qt's SVG generator ignores clipping, so everything the view box holds was written whole
into the SVG: points outside the zoomed range over the axes and their tick labels, the
crosshair of an off-screen z over the y axis, the walk's path running past the frame.
:func:`clipped_for_svg` trims each item to the view rectangle for the time of an export
(the points by their centres, a path cut at the frame, markers outside hidden) and gives
the walk's symbols real shapes (its default pixmap atlas came out as squares) and the axes
vector text (cached, they were written as pictures). The canvas marker has no contents of its
own (an empty bounding rectangle, so it was judged outside and dropped whole): its star and
tag go by the mean's position, its ellipses are cut at the frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsItem

from .grid_lines import GridLines
from .markers import PosteriorMarker

if TYPE_CHECKING:
    from .view import LatentScatterView


def clip_polyline(x: np.ndarray, y: np.ndarray, rect: QRectF) -> tuple[np.ndarray, np.ndarray]:
    """The parts of the polyline (x, y) inside ``rect``, cut at its edges (Liang-Barsky),
    pieces separated by NaN (pyqtgraph's connect="finite" leaves the gaps open)."""
    x0, x1, y0, y1 = rect.left(), rect.right(), rect.top(), rect.bottom()
    out_x: list[float] = []
    out_y: list[float] = []
    for i in range(len(x) - 1):
        ax, ay, dx, dy = float(x[i]), float(y[i]), float(x[i + 1] - x[i]), float(y[i + 1] - y[i])
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            if p == 0:
                if q < 0:
                    lo, hi = 1.0, 0.0  # parallel to this edge and outside it
            elif p < 0:
                lo = max(lo, q / p)
            else:
                hi = min(hi, q / p)
        if lo > hi:
            continue
        # (the path's own points where not cut: a computed end differs in its last bits)
        start = (ax, ay) if lo == 0.0 else (ax + lo * dx, ay + lo * dy)
        end = (float(x[i + 1]), float(y[i + 1])) if hi == 1.0 else (ax + hi * dx, ay + hi * dy)
        if not out_x or (out_x[-1], out_y[-1]) != start:
            if out_x:
                out_x.append(np.nan)
                out_y.append(np.nan)
            out_x.append(start[0])
            out_y.append(start[1])
        out_x.append(end[0])
        out_y.append(end[1])
    return np.asarray(out_x, float), np.asarray(out_y, float)


@contextmanager
def clipped_for_svg(scatter: LatentScatterView) -> Iterator[None]:
    """Within the block, the scatter's view box draws only what is inside the plot."""
    rect = scatter.vb.viewRect()
    # Cached axes would be written as pictures of themselves: vector text instead.
    axes = [scatter.plot.getPlotItem().getAxis(side) for side in ("left", "bottom")]
    caching = [axis.cacheMode() for axis in axes]
    hidden: list[Any] = []
    paths: list[tuple[pg.PlotDataItem, np.ndarray, np.ndarray]] = []
    symbols: list[pg.ScatterPlotItem] = []
    undo: list[Callable[[], None]] = []
    try:
        for axis in axes:
            axis.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        scatter.cloud.setExportMode(True, {"clip": rect})
        for item in scatter.vb.childGroup.childItems():  # (addedItems lacks ignoreBounds ones)
            if item is scatter.cloud or isinstance(item, (pg.ImageItem, GridLines)) or not item.isVisible():
                continue
            if isinstance(item, PosteriorMarker):
                undo.extend(_clip_posterior(item, rect, scatter))
                continue
            if isinstance(item, pg.PlotDataItem):  # the walk: its line cut at the frame
                x, y = item.getData()
                if x is None or y is None or len(x) == 0:
                    continue
                paths.append((item, np.array(x), np.array(y)))
                item.curve.setData(*clip_polyline(np.asarray(x), np.asarray(y), rect), connect="finite")
                item = item.scatter
            if isinstance(item, pg.ScatterPlotItem):  # in export mode: shapes, only those in view
                item.setExportMode(True, {})
                symbols.append(item)
            elif not _in_view(item, rect):
                item.setVisible(False)
                hidden.append(item)
        yield
    finally:
        for axis, mode in zip(axes, caching, strict=True):
            axis.setCacheMode(mode)
        scatter.cloud.setExportMode(False)
        for item in hidden:
            item.setVisible(True)
        for symbol in symbols:
            symbol.setExportMode(False)
        for path, x, y in paths:
            path.setData(x, y)
        for step in reversed(undo):
            step()


def _in_view(item: Any, rect: QRectF) -> bool:
    """Whether some of ``item`` is inside ``rect`` (a marker of a fixed pixel size: its
    position)."""
    if item.flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations:
        return rect.contains(item.pos())
    return item.mapRectToParent(item.boundingRect()).intersects(rect)


def _clip_posterior(
    marker: PosteriorMarker, rect: QRectF, scatter: LatentScatterView
) -> list[Callable[[], None]]:
    """Keep of the canvas marker what is inside ``rect`` (data units): the star and its tag
    if the mean is, each ellipse cut at the frame; a tag that would cross the frame goes to
    the star's other side. Returns how to undo."""
    undo: list[Callable[[], None]] = []

    def hide(item: QGraphicsItem) -> None:
        item.setVisible(False)
        undo.append(lambda: item.setVisible(True))

    local = rect.translated(-marker.pos())  # the ellipses are in data units about the mean
    for ellipse in (marker.ellipse_1sd, marker.ellipse_2sd):
        if ellipse.isVisible():
            whole = ellipse.path()
            cut = _clipped_path(whole, local)
            if cut.isEmpty():
                hide(ellipse)
            elif cut != whole:
                ellipse.setPath(cut)
                undo.append(lambda e=ellipse, p=whole: e.setPath(p))  # type: ignore[misc]
    if not rect.contains(marker.pos()):
        hide(marker.star)
    elif marker.label.isVisible():
        tag, before = marker.label, marker.label.pos()
        tag.setPos(inward_tag_pos(marker, scatter))
        undo.append(lambda: tag.setPos(before))
    return undo


def tag_and_frame(marker: PosteriorMarker, scatter: LatentScatterView) -> tuple[QRectF, QRectF]:
    """The canvas tag's and the plot's rectangles in the viewport (the tag ignores the
    view's scaling, so its scene rectangle says nothing)."""
    device = scatter.plot.viewportTransform()
    box = marker.label.deviceTransform(device).mapRect(marker.label.boundingRect())
    return box, device.mapRect(scatter.vb.sceneBoundingRect())


def inward_tag_pos(marker: PosteriorMarker, scatter: LatentScatterView) -> QPointF:
    """Where the tag stays inside the plot: its own place, or mirrored to the star's left
    and/or underside where it crosses the frame."""
    before = marker.label.pos()
    box, frame = tag_and_frame(marker, scatter)
    x, y = before.x(), before.y()
    if box.right() > frame.right():
        x = -before.x() - box.width()
    if box.top() < frame.top():
        y = -before.y() - box.height()
    return QPointF(x, y)


def _clipped_path(path: QPainterPath, rect: QRectF) -> QPainterPath:
    """The polyline ``path`` (move-to and line-to only) cut at ``rect``'s edges."""
    xs: list[float] = []
    ys: list[float] = []
    for i in range(path.elementCount()):
        e = path.elementAt(i)
        if e.isMoveTo() and xs:
            xs.append(np.nan)
            ys.append(np.nan)
        xs.append(e.x)
        ys.append(e.y)
    out = QPainterPath()
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    pieces = np.split(np.arange(len(x)), np.flatnonzero(np.isnan(x)))
    for piece in pieces:
        piece = piece[np.isfinite(x[piece])]
        if len(piece) < 2:
            continue
        cx, cy = clip_polyline(x[piece], y[piece], rect)
        start = True
        for px, py in zip(cx.tolist(), cy.tolist(), strict=True):
            if not np.isfinite(px):
                start = True
            elif start:
                out.moveTo(QPointF(px, py))
                start = False
            else:
                out.lineTo(QPointF(px, py))
    return out

"""Markers drawn over the scatter: the decoded point's crosshair and the canvas posterior
(on the two axes its diagonal ellipses; on the PCA plane their tilted projection).

Both keep a fixed pixel size at a data position (``ItemIgnoresTransformations``): plain
QGraphicsPathItems, far cheaper to repaint than one-point ScatterPlotItems, so moving the
crosshair repaints only a small patch of the plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPathItem,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ...core.rendering import posterior_ellipse

POSTERIOR_COLOUR = "#ffeb3b"
STAR_RADIUS = 9.0
# The 1-sigma ellipse is drawn at least this many pixels across each semi-axis (the 2-sigma
# one twice that), so a confident posterior does not vanish under the star when zoomed out.
MIN_SIGMA_PX = 14.0
CANVAS_LABEL = "canvas"


def ring_path(radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QPointF(0, 0), radius, radius)
    return path


def crosshair_path(radius: float, arm: float) -> QPainterPath:
    """A ring with four arms reaching out to ``arm`` pixels."""
    path = ring_path(radius)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        path.moveTo(dx * (radius - 3), dy * (radius - 3))
        path.lineTo(dx * arm, dy * arm)
    return path


def star_path(radius: float) -> QPainterPath:
    """A five-pointed star, point up in device coordinates (y down)."""
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.45
        a = math.pi / 2 + k * math.pi / 5
        points.append(QPointF(r * math.cos(a), -r * math.sin(a)))
    path = QPainterPath(points[0])
    for pt in points[1:]:
        path.lineTo(pt)
    path.closeSubpath()
    return path


def outline_path(xs: np.ndarray, ys: np.ndarray) -> QPainterPath:
    """A polyline through the points (a closed outline when the last equals the first)."""
    path = QPainterPath(QPointF(float(xs[0]), float(ys[0])))
    for x, y in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
        path.lineTo(x, y)
    return path


def floored_covariance(cov: np.ndarray, pixel_size: Sequence[float]) -> np.ndarray:
    """``cov`` (2 x 2, data units) with each principal axis at least MIN_SIGMA_PX pixels
    across on screen (``pixel_size``: data units per pixel, x and y)."""
    d = np.abs(np.asarray(pixel_size[:2], np.float64)) + 1e-30
    scale = np.outer(d, d)
    c = np.asarray(cov, np.float64).reshape(2, 2) / scale
    vals, vecs = np.linalg.eigh(0.5 * (c + c.T))
    vals = np.maximum(vals, MIN_SIGMA_PX**2)
    return np.asarray((vecs * vals) @ vecs.T * scale)


def covariance_outline(cov: np.ndarray, n_sigma: float, points: int = 65) -> tuple[np.ndarray, np.ndarray]:
    """Closed outline (x, y) about 0 of the n-sigma contour of a 2-d Gaussian of covariance
    ``cov`` (tilted when the plane cuts the latent axes at a slant)."""
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    radii = np.sqrt(np.clip(vals, 0.0, None)) * n_sigma
    t = np.linspace(0.0, 2 * math.pi, points)
    xy = vecs @ np.stack([np.cos(t) * radii[0], np.sin(t) * radii[1]])
    return xy[0], xy[1]


class PixelMarker(QGraphicsPathItem):
    """A marker of fixed pixel size at a data position (ignores the view's scaling)."""

    def __init__(self, path: QPainterPath, pen: QPen, brush: QBrush | None) -> None:
        super().__init__(path)
        self.setPen(pen)
        if brush is not None:
            self.setBrush(brush)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)


def make_crosshair() -> PixelMarker:
    """The white crosshair that marks the decoded code (a ring, not lines across the view)."""
    return PixelMarker(crosshair_path(7.0, 16.0), pg.mkPen("w", width=2), None)


class _Tag(QGraphicsItem):
    """A small text tag on a dark background, in pixels (a child of a PixelMarker)."""

    def __init__(self, text: str, colour: QColor, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        font = QFont()
        font.setPointSizeF(8.5)
        font.setBold(True)
        self.text = QGraphicsSimpleTextItem(text, self)
        self.text.setFont(font)
        self.text.setBrush(QBrush(colour))
        self.text.setPos(4, 1)
        r = self.text.boundingRect()
        self._rect = QRectF(0, 0, r.width() + 8, r.height() + 2)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(self._rect)

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 22, 200))
        p.drawRoundedRect(self._rect, 3, 3)


class PosteriorMarker(QGraphicsObject):
    """q(z|x) of the canvas drawing in the shown dims: a star at the mean labelled
    "canvas", with its 1 and 2 sigma ellipses. The item sits at the mean (``pos()``);
    the ellipses are its children in data units relative to the mean."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        colour = QColor(POSTERIOR_COLOUR)
        self.ellipse_1sd = QGraphicsPathItem(self)
        self.ellipse_1sd.setPen(pg.mkPen(colour, width=2, cosmetic=True))
        self.ellipse_2sd = QGraphicsPathItem(self)
        self.ellipse_2sd.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.star = PixelMarker(star_path(STAR_RADIUS), pg.mkPen("k", width=1), QBrush(colour))
        self.star.setParentItem(self)
        self.label = _Tag(CANVAS_LABEL, colour, self.star)
        self.label.setPos(STAR_RADIUS - 1, -STAR_RADIUS - self.label.boundingRect().height() + 2)
        self.setVisible(False)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF()

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        return

    def show_posterior(
        self, mean: Sequence[float], logvar: Sequence[float], pixel_size: Sequence[float]
    ) -> None:
        """Mark a diagonal Gaussian (``mean``, ``logvar``: its two shown dims); ``pixel_size``
        (data units per pixel, x and y) sets the ellipses' smallest drawn size."""
        self.setPos(float(mean[0]), float(mean[1]))
        floor = 2.0 * np.log(MIN_SIGMA_PX * np.abs(np.asarray(pixel_size[:2], np.float64)) + 1e-30)
        shown = np.maximum(np.asarray(logvar[:2], np.float64), floor).tolist()
        for item, k in ((self.ellipse_1sd, 1.0), (self.ellipse_2sd, 2.0)):
            item.setPath(outline_path(*posterior_ellipse((0.0, 0.0), shown, k)))
            item.setVisible(True)
        self.setVisible(True)

    def show_projected(
        self, mean: Sequence[float], cov: np.ndarray | None, pixel_size: Sequence[float]
    ) -> None:
        """Mark a Gaussian projected on a plane: ``mean`` (x, y) and its 2 x 2 covariance
        there, or only the star when ``cov`` is None (a map: no ellipse means anything)."""
        self.setPos(float(mean[0]), float(mean[1]))
        for item, k in ((self.ellipse_1sd, 1.0), (self.ellipse_2sd, 2.0)):
            item.setVisible(cov is not None)
            if cov is not None:
                item.setPath(outline_path(*covariance_outline(floored_covariance(cov, pixel_size), k)))
        self.setVisible(True)

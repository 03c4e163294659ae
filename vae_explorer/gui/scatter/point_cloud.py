"""The scatter's points: one graphics item fed numpy arrays, drawn from a sprite atlas.

Speed: :class:`PointCloudItem` keeps the points as arrays and draws them all with a single
``QPainter.drawPixmapFragments`` call from a small sprite atlas (one dot per class, or
one per entry of a 64-colour table when coloured by a value), so a
refresh with new latents costs a couple of array copies instead of pyqtgraph's per-spot
bookkeeping (never one QBrush per point). The rendered points are cached in a
viewport-sized pixmap, so a repaint that only moves the crosshair blits it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals as pg_internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from ...core.figures import CLASS_PALETTE
from ..stepped_range import stepped_range

POINT_SIZE = 5
POINT_ALPHA = 210


# The points' view keeps them filling most of it: a step adds little room, and points that
# shrink to under 70% of the view (as a latent space does after its first epochs) refit it.
SCATTER_FILL = 0.7


def _step(current: tuple[float, float] | None, lo: float, hi: float) -> tuple[float, float]:
    new = stepped_range(current, np.array([lo, hi]), grow_pad=0.0, min_fill=SCATTER_FILL, divisions=20)
    return new or current or (lo, hi)


class PointCloudItem(pg.GraphicsObject):
    """Many points, one colour per integer label (or per value index, see
    :meth:`set_colour_indices`), drawn in one fragment call (pixel sized)."""

    def __init__(self, size: int = POINT_SIZE, colours: Sequence[str] = CLASS_PALETTE) -> None:
        super().__init__()
        self._size = size
        self._colours = [QColor(c) for c in colours]
        self._table = self._colours  # the atlas' colours: the classes', or a value table
        self._colour_index: np.ndarray | None = None  # per point, into _table; None: labels
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._labels = np.zeros(0, np.int64)
        self._class_visible = np.ones(len(self._colours), bool)
        self._visible_mask: np.ndarray | None = None
        self._bounds = QRectF()
        self._sticky = False
        self._brect: QRectF | None = None
        self._version = 0
        self._cache = QPixmap()
        self._cache_key: tuple[float, ...] | None = None
        self._atlas, self._atlas_dpr = QPixmap(), 0.0
        self._src: np.ndarray = np.zeros((len(self._colours), 4))
        self._frags = pg_internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    # --- data ------------------------------------------------------------------------------
    def set_data(self, x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> None:
        """Replace all points (the arrays are copied: a drawing buffer, not the state's);
        labels index the colour table."""
        self.prepareGeometryChange()
        self._x = np.array(x, np.float64)
        self._y = np.array(y, np.float64)
        self._labels = np.asarray(labels, np.int64) % len(self._colours)
        if self._colour_index is not None and len(self._colour_index) != len(self._x):
            self._use_table(self._colours, None)  # values for other points: classes again
        self._data_changed()

    def set_colour_indices(self, indices: np.ndarray, table: Sequence[str]) -> None:
        """Colour point i with ``table[indices[i]]`` (e.g. a value quantised into a colour
        map); the labels still decide which points are shown."""
        indices = np.asarray(indices, np.int64)
        if indices.shape != self._x.shape:
            raise ValueError(f"{len(indices)} colour indices for {len(self._x)} points")
        self._use_table([QColor(c) for c in table], np.clip(indices, 0, len(table) - 1))
        self._data_changed()

    def use_class_colours(self) -> None:
        """Colour the points by their labels again."""
        if self._colour_index is not None:
            self._use_table(self._colours, None)
            self._data_changed()

    def colour_indices(self) -> np.ndarray:
        """Each point's entry in the colour table in use (its label when by class)."""
        return self._labels if self._colour_index is None else self._colour_index

    def colour_table(self) -> list[str]:
        """The colours in use, as hex names."""
        return [c.name() for c in self._table]

    def _use_table(self, table: list[QColor], indices: np.ndarray | None) -> None:
        self._table, self._colour_index = table, indices
        self._atlas_dpr = 0.0  # rebuild the sprites

    def clear(self) -> None:
        """No points."""
        self.set_data(np.zeros(0), np.zeros(0), np.zeros(0, np.int64))

    def set_class_visible(self, label: int, visible: bool) -> None:
        self._class_visible[label] = visible
        self.prepareGeometryChange()
        self._data_changed()

    def show_all_classes(self) -> None:
        self._class_visible[:] = True
        self.prepareGeometryChange()
        self._data_changed()

    def class_visible(self, label: int) -> bool:
        return bool(self._class_visible[label])

    def visible_mask(self) -> np.ndarray:
        """Boolean mask of points whose class is shown."""
        if self._visible_mask is None:
            self._visible_mask = self._class_visible[self._labels]
        return self._visible_mask

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The drawn x and y coordinates (all points, shown classes or not)."""
        return self._x, self._y

    def _data_changed(self) -> None:
        self._visible_mask = None
        self._version += 1
        self._update_bounds()
        self.informViewBoundsChanged()
        self.update()

    def _update_bounds(self) -> None:
        m = self.visible_mask()
        self._brect = None
        if not m.any():
            self._bounds = QRectF()
            return
        x, y = self._x[m], self._y[m]
        x0, x1, y0, y1 = (float(v) for v in (x.min(), x.max(), y.min(), y.max()))
        if self._sticky:  # with room to move: a step only when the points leave it
            old = None if self._bounds.isNull() else self._bounds
            x0, x1 = _step(None if old is None else (old.left(), old.right()), x0, x1)
            y0, y1 = _step(None if old is None else (old.top(), old.bottom()), y0, y1)
        self._bounds = QRectF(x0, y0, max(x1 - x0, 1e-9), max(y1 - y0, 1e-9))

    def set_sticky_bounds(self, sticky: bool) -> None:
        """While on (a run training), the bounds the view auto-ranges to move only in steps
        (:mod:`..stepped_range`): a snapshot's points moving a little leave the view, and
        so the axes' cached pictures, as they were. Off: the points' exact bounds again."""
        if sticky != self._sticky:
            self._sticky = sticky
            self.forget_bounds()

    def forget_bounds(self) -> None:
        """Report the points' exact bounds now (a new space: other dims, a reset zoom);
        the points and their pixmap stay as they are."""
        self._bounds = QRectF()
        self._update_bounds()
        self.informViewBoundsChanged()

    # --- pyqtgraph protocol ----------------------------------------------------------------
    def dataBounds(  # noqa: N802 - pyqtgraph protocol
        self, ax: int, frac: float = 1.0, orthoRange: Any = None
    ) -> tuple[float | None, float | None]:
        if self._bounds.isNull():
            return (None, None)
        r = self._bounds
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    def pixelPadding(self) -> float:  # noqa: N802 - pyqtgraph protocol
        return self._size / 2 + 1

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        # Qt asks for this many times per paint: cache it until the data or view changes.
        if self._brect is None:
            if self._bounds.isNull():
                self._brect = QRectF()
            else:
                px = self.pixelLength(pg.Point(1, 0)) or 0.0
                py = self.pixelLength(pg.Point(0, 1)) or 0.0
                pad = self.pixelPadding()
                self._brect = self._bounds.adjusted(-px * pad, -py * pad, px * pad, py * pad)
        return QRectF(self._brect)

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph hook
        self.prepareGeometryChange()
        self._brect = None

    # --- drawing ---------------------------------------------------------------------------
    def _ensure_atlas(self, dpr: float) -> None:
        if self._atlas_dpr == dpr:
            return
        cell = self._size + 2
        w = int(math.ceil(cell * dpr))
        pm = QPixmap(w * len(self._table), w)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        for i, c in enumerate(self._table):
            fill = QColor(c)
            fill.setAlpha(POINT_ALPHA)
            p.setBrush(QBrush(fill))
            r = self._size * dpr
            p.drawEllipse(QRectF(i * w + (w - r) / 2, (w - r) / 2, r, r))
        p.end()
        pm.setDevicePixelRatio(dpr)
        self._atlas, self._atlas_dpr = pm, dpr
        self._src = np.array([[i * w, 0, w, w] for i in range(len(self._table))], np.float64)

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._x.size == 0:
            return
        if self._exportOpts is not False:
            self._paint_vector(p)
            return
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        self._ensure_atlas(dpr)
        t = p.transform()
        if widget is None:  # rendered into an image (export): draw directly
            device = p.device()
            self._draw_points(p, t, device.width(), device.height(), dpr)
            return
        w, h = widget.width(), widget.height()
        key = (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy(), w, h, dpr, self._version)
        if key != self._cache_key:
            pm = QPixmap(max(1, math.ceil(w * dpr)), max(1, math.ceil(h * dpr)))
            pm.setDevicePixelRatio(dpr)
            pm.fill(Qt.GlobalColor.transparent)
            cp = QPainter(pm)
            self._draw_points(cp, t, w, h, dpr)
            cp.end()
            self._cache, self._cache_key = pm, key
        p.save()
        p.resetTransform()
        p.drawPixmap(0, 0, self._cache)
        p.restore()

    def _draw_points(self, p: QPainter, t: QTransform, w: float, h: float, dpr: float) -> None:
        """All visible points, mapped by ``t`` to device pixels, in one fragment call."""
        px = t.m11() * self._x + t.m21() * self._y + t.dx()
        py = t.m12() * self._x + t.m22() * self._y + t.dy()
        keep = self.visible_mask() & (px > -10) & (px < w + 10) & (py > -10) & (py < h + 10)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            return
        self._frags.resize(idx.size)
        f = self._frags.ndarray()
        f[:, 0] = px[idx]
        f[:, 1] = py[idx]
        f[:, 2:6] = self._src[self.colour_indices()[idx]]
        f[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        # PySide6: drawargs() is (pointer to the first fragment, count), Qt's C++ signature.
        fragments, count = self._frags.drawargs()
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(fragments, count, self._atlas)
        p.restore()

    def _paint_vector(self, p: QPainter) -> None:
        """Exports (SVG/PNG via pyqtgraph exporters) get real circles, painted in the order
        the screen paints them (the data's), so where classes overlap the picture is the
        screen's; the brush changes only where the colour does."""
        t = p.transform()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = self._size / 2
        vis = self.visible_mask()
        clip = self._exportOpts.get("clip") if isinstance(self._exportOpts, dict) else None
        if isinstance(clip, QRectF):  # (an SVG keeps no clipping: points off the plot are left out)
            vis = vis & (self._x >= clip.left()) & (self._x <= clip.right())
            vis = vis & (self._y >= clip.top()) & (self._y <= clip.bottom())
        index = self.colour_indices()
        brushes = []
        for colour in self._table:
            c = QColor(colour)
            c.setAlpha(POINT_ALPHA)
            brushes.append(QBrush(c))
        current = -1
        for i in np.flatnonzero(vis).tolist():
            entry = int(index[i])
            if entry != current:
                p.setBrush(brushes[entry])
                current = entry
            p.drawEllipse(t.map(QPointF(self._x[i], self._y[i])), r, r)
        p.restore()

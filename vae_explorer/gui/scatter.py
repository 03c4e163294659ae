"""The latent scatter: encoded test images coloured by class, click/drag to decode.

Speed: :class:`PointCloudItem` keeps the points as numpy arrays and draws them all with a
single ``QPainter.drawPixmapFragments`` call from a 10-symbol atlas (one dot per class),
so a refresh with new latents costs a couple of array copies instead of pyqtgraph's
per-spot bookkeeping. Mouse handling lives on the view widget so a press decodes at once.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals as pg_internals
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..core.rendering import nearest_point, posterior_ellipse
from .images import CLASS_COLORS, gray_pixmap

HOVER_RADIUS_PX = 6.0
POINT_SIZE = 5


class PointCloudItem(pg.GraphicsObject):
    """Many points, one colour per integer label, drawn in one fragment call (pixel sized)."""

    def __init__(self, size: int = POINT_SIZE, colors: list[str] = CLASS_COLORS) -> None:
        super().__init__()
        self._size = size
        self._colors = [QColor(c) for c in colors]
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._labels = np.zeros(0, np.int64)
        self._class_visible = np.ones(len(colors), bool)
        self._visible_mask: np.ndarray | None = None
        self._bounds = QRectF()
        self._brect: QRectF | None = None
        self._version = 0
        self._cache = QPixmap()
        self._cache_key: tuple | None = None
        self._atlas, self._atlas_dpr = QPixmap(), 0.0
        self._src: np.ndarray = np.zeros((len(colors), 4))
        self._frags = pg_internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    # --- data ------------------------------------------------------------------------------
    def set_data(self, x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> None:
        """Replace all points (arrays are copied); labels index the colour table."""
        self.prepareGeometryChange()
        self._x = np.array(x, np.float64)
        self._y = np.array(y, np.float64)
        self._labels = np.asarray(labels, np.int64) % len(self._colors)
        self._visible_mask = None
        self._version += 1
        self._update_bounds()
        self.informViewBoundsChanged()
        self.update()

    def set_class_visible(self, label: int, visible: bool) -> None:
        self._class_visible[label] = visible
        self._visible_mask = None
        self._version += 1
        self.prepareGeometryChange()
        self._update_bounds()
        self.informViewBoundsChanged()
        self.update()

    def show_all_classes(self) -> None:
        for label in range(len(self._class_visible)):
            self._class_visible[label] = True
        self.set_class_visible(0, True)

    def class_visible(self, label: int) -> bool:
        return bool(self._class_visible[label])

    def visible_mask(self) -> np.ndarray:
        """Boolean mask of points whose class is shown."""
        if self._visible_mask is None:
            self._visible_mask = self._class_visible[self._labels]
        return self._visible_mask

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x, self._y

    def _update_bounds(self) -> None:
        m = self.visible_mask()
        self._brect = None
        if not m.any():
            self._bounds = QRectF()
            return
        x, y = self._x[m], self._y[m]
        x0, x1, y0, y1 = (float(v) for v in (x.min(), x.max(), y.min(), y.max()))
        self._bounds = QRectF(x0, y0, max(x1 - x0, 1e-9), max(y1 - y0, 1e-9))

    # --- pyqtgraph protocol ----------------------------------------------------------------
    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802
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
        pm = QPixmap(w * len(self._colors), w)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        for i, c in enumerate(self._colors):
            fill = QColor(c)
            fill.setAlpha(210)
            p.setBrush(QBrush(fill))
            r = self._size * dpr
            p.drawEllipse(QRectF(i * w + (w - r) / 2, (w - r) / 2, r, r))
        p.end()
        pm.setDevicePixelRatio(dpr)
        self._atlas, self._atlas_dpr = pm, dpr
        self._src = np.array([[i * w, 0, w, w] for i in range(len(self._colors))], np.float64)

    def paint(self, p: QPainter, option, widget=None) -> None:
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
        # The rendered points are kept in a viewport-sized pixmap: a repaint that only
        # moves the crosshair or a marker blits it instead of drawing 10,000 points again.
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

    def _draw_points(self, p: QPainter, t, w: float, h: float, dpr: float) -> None:
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
        f[:, 2:6] = self._src[self._labels[idx]]
        f[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), self._atlas)
        p.restore()

    def _paint_vector(self, p: QPainter) -> None:
        """Exports (SVG/PNG via pyqtgraph exporters) get real circles, one path per class."""
        t = p.transform()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = self._size / 2
        vis = self.visible_mask()
        for label, color in enumerate(self._colors):
            sel = np.flatnonzero((self._labels == label) & vis)
            if sel.size == 0:
                continue
            c = QColor(color)
            c.setAlpha(210)
            p.setBrush(c)
            for i in sel.tolist():
                pt = t.map(QPointF(self._x[i], self._y[i]))
                p.drawEllipse(pt, r, r)
        p.restore()


def _ring_path(radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QPointF(0, 0), radius, radius)
    return path


def _crosshair_path(radius: float, arm: float) -> QPainterPath:
    path = _ring_path(radius)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        path.moveTo(dx * (radius - 3), dy * (radius - 3))
        path.lineTo(dx * arm, dy * arm)
    return path


def _star_path(radius: float) -> QPainterPath:
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


class PixelMarker(QGraphicsPathItem):
    """A marker of fixed pixel size at a data position (ignores the view's scaling).

    Plain QGraphicsPathItem: far cheaper to repaint than a one-point ScatterPlotItem.
    """

    def __init__(self, path: QPainterPath, pen: QPen, brush: QBrush | None) -> None:
        super().__init__(path)
        self.setPen(pen)
        if brush is not None:
            self.setBrush(brush)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)


class ClassLegend(pg.LegendItem):
    """A legend whose rows (symbol or name) toggle their class when clicked."""

    classToggled = Signal(int, bool)

    def __init__(self) -> None:
        super().__init__(
            offset=(-10, 10),
            labelTextColor="#dddddd",
            brush=pg.mkBrush(30, 30, 30, 200),
            pen=pg.mkPen("#555555"),
            verSpacing=-4,
        )
        self._proxies: list[pg.ScatterPlotItem] = []
        self._names: list[str] = []

    def set_classes(self, names: list[str]) -> None:
        self.clear()
        self._proxies, self._names = [], list(names)
        for i, name in enumerate(names):
            proxy = pg.ScatterPlotItem(
                symbol="o", size=9, pen=None, brush=pg.mkBrush(CLASS_COLORS[i % len(CLASS_COLORS)])
            )
            proxy.visibleChanged.connect(lambda i=i: self._on_proxy_visible_changed(i))
            self._proxies.append(proxy)
            self.addItem(proxy, name)

    def set_class_visible(self, label: int, visible: bool) -> None:
        self._proxies[label].setVisible(visible)

    def row_rect(self, label: int) -> QRectF:
        """The row of ``label`` in this item's coordinates (for tests and hit testing)."""
        sample, text = self.items[label]
        return sample.mapRectToParent(sample.boundingRect()).united(text.mapRectToParent(text.boundingRect()))

    def _on_proxy_visible_changed(self, label: int) -> None:
        visible = self._proxies[label].isVisible()
        sample, text = self.items[label]
        text.setText(self._names[label], color="#dddddd" if visible else "#666666")
        sample.update()
        self.classToggled.emit(label, visible)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for label in range(len(self.items)):
            if self.row_rect(label).contains(ev.pos()):
                self.set_class_visible(label, not self._proxies[label].isVisible())
                ev.accept()
                return


class _LatentViewBox(pg.ViewBox):
    """Left drag belongs to decoding (handled by the view widget); right/middle drag pans."""

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            return
        if ev.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            ev.accept()
            delta = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=delta.x(), y=delta.y())
            return
        super().mouseDragEvent(ev, axis)


class _PlotView(pg.PlotWidget):
    """PlotWidget that reports raw mouse events (view coordinates) before pyqtgraph."""

    pressed = Signal(QPointF)
    dragged = Signal(QPointF)
    released = Signal(QPointF)
    hovered = Signal(QPointF)
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        self.vb = _LatentViewBox()
        super().__init__(parent, viewBox=self.vb)
        self._pressing = False
        self.legend: ClassLegend | None = None

    def _in_plot(self, pos: QPointF) -> QPointF | None:
        scene_pos = self.mapToScene(pos.toPoint())
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        if self.legend is not None and self.legend.sceneBoundingRect().contains(scene_pos):
            return None
        return self.vb.mapSceneToView(scene_pos)

    # A left press inside the plot (legend excepted) belongs to decoding: it skips
    # pyqtgraph's scene machinery (hover bookkeeping, click synthesis), which would cost
    # about a millisecond per event on the latency-critical path.
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

    def leaveEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self.left.emit()
        super().leaveEvent(ev)


class HoverCard(QFrame):
    """A small floating card with a test image thumbnail and its class, over the plot."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("HoverCard")
        self.setStyleSheet(
            "#HoverCard { background: rgba(25, 25, 28, 235); border: 1px solid #777;"
            " border-radius: 4px; } QLabel { color: #eee; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(5, 5, 5, 4)
        lay.setSpacing(2)
        self.image = QLabel()
        self.text = QLabel()
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.image, 0, Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.text)
        self.index = -1
        self.hide()

    def show_item(self, index: int, image: np.ndarray, caption: str, at: QPointF) -> None:
        self.index = index
        self.image.setPixmap(gray_pixmap(image, 3))
        self.text.setText(caption)
        self.adjustSize()
        parent = self.parentWidget()
        x, y = int(at.x()) + 14, int(at.y()) + 14
        if parent is not None:
            x = min(x, parent.width() - self.width() - 2)
            y = min(y, parent.height() - self.height() - 2)
            if x < int(at.x()) and y < int(at.y()):
                y = int(at.y()) - self.height() - 10
        self.move(max(x, 0), max(y, 0))
        self.show()
        self.raise_()


class LatentScatterView(QWidget):
    """The central view: latents, legend, crosshair, posterior marker and grid overlay.

    Signals carry positions in the two SHOWN dimensions; the window builds full codes.
    ``latentPressed`` fires on press and ``latentDragged`` for the LATEST drag position
    only, once per event-loop pass (moves are coalesced, so no backlog of stale decodes).
    """

    latentPressed = Signal(object)
    latentDragged = Signal(object)
    pointSelected = Signal(int)
    dimsChanged = Signal(int, int)
    overlayToggled = Signal(bool)
    viewRangeChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _PlotView()
        pi = self.plot.getPlotItem()
        pi.showGrid(x=True, y=True, alpha=0.15)
        pi.setLabel("bottom", "z[0]")
        pi.setLabel("left", "z[1]")
        pi.setMenuEnabled(False)
        pi.hideButtons()
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
        self.vb = self.plot.vb
        self.vb.setAspectLocked(True)
        self.cloud = PointCloudItem()
        self.cloud.setZValue(5)
        # Moving the crosshair must not re-render the axes and their grid lines: both axes
        # are cached as device pixmaps (the point cloud keeps its own pixmap).
        cache = QGraphicsItem.CacheMode.DeviceCoordinateCache
        for name in ("left", "bottom"):
            pi.getAxis(name).setCacheMode(cache)
        self.vb.addItem(self.cloud)
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(0)
        self.overlay.setOpacity(0.9)
        self.overlay.setVisible(False)
        self.vb.addItem(self.overlay, ignoreBounds=True)
        # A fixed-size crosshair (not lines across the view): moving it repaints only a
        # small patch of the plot, which keeps click/drag-to-decode within a frame.
        self.crosshair = PixelMarker(_crosshair_path(7.0, 16.0), pg.mkPen("w", width=2), None)
        self.crosshair.setZValue(20)
        self.crosshair.setVisible(False)
        self.vb.addItem(self.crosshair, ignoreBounds=True)
        yellow = QColor("#ffeb3b")
        self.posterior_marker = PixelMarker(_star_path(9.0), pg.mkPen("k", width=1), QBrush(yellow))
        self.posterior_1sd = QGraphicsPathItem()
        self.posterior_1sd.setPen(pg.mkPen(yellow, width=2, cosmetic=True))
        self.posterior_2sd = QGraphicsPathItem()
        self.posterior_2sd.setPen(pg.mkPen(yellow, width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        for item in (self.posterior_1sd, self.posterior_2sd, self.posterior_marker):
            item.setZValue(25)
            item.setVisible(False)
            self.vb.addItem(item, ignoreBounds=True)
        self.legend = ClassLegend()
        self.legend.setParentItem(self.vb)
        self.legend.anchor((1, 0), (1, 0), offset=(-8, 8))
        self.legend.setZValue(30)
        self.legend.classToggled.connect(self._on_class_toggled)
        self.plot.legend = self.legend
        self.hover = HoverCard(self.plot)

        self.x_dim = QComboBox()
        self.y_dim = QComboBox()
        for combo in (self.x_dim, self.y_dim):
            combo.setToolTip("Latent dimension shown on this axis (the others are held at 0)")
            combo.currentIndexChanged.connect(self._on_dims_changed)
        self.overlay_check = QCheckBox("Decoded grid overlay")
        self.overlay_check.setToolTip("Tile decoded digits over the region of latent space they come from")
        self.overlay_check.toggled.connect(self._on_overlay_toggled)
        self.hint = QLabel(
            "click / drag: decode   ·   right-drag: pan   ·   wheel: zoom   ·   legend: hide a class"
        )
        self.hint.setStyleSheet("color: #999;")
        # A hint, not a control: it may be cut short rather than widen the window.
        self.hint.setMinimumWidth(1)
        self.hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.hint.setToolTip(self.hint.text())
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.addWidget(QLabel("x:"))
        bar.addWidget(self.x_dim)
        bar.addWidget(QLabel("y:"))
        bar.addWidget(self.y_dim)
        bar.addSpacing(12)
        bar.addWidget(self.overlay_check)
        bar.addStretch(1)
        bar.addWidget(self.hint)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)

        self._mu: np.ndarray | None = None
        self._logvar: np.ndarray | None = None
        self._labels = np.zeros(0, np.int64)
        self._images: np.ndarray | None = None
        self._classes: list[str] = []
        self._dims = (0, 1)
        self._latent_dim = 2
        self._pending_drag: np.ndarray | None = None
        self._pending_hover: QPointF | None = None
        self._drag_timer = QTimer(self, singleShot=True, interval=0)
        self._drag_timer.timeout.connect(self._on_drag_timer)
        self._hover_timer = QTimer(self, singleShot=True, interval=15)
        self._hover_timer.timeout.connect(self._on_hover_timer)
        self._press_pos: QPointF | None = None
        self.plot.pressed.connect(self._on_plot_pressed)
        self.plot.dragged.connect(self._on_plot_dragged)
        self.plot.released.connect(self._on_plot_released)
        self.plot.hovered.connect(self._on_plot_hovered)
        self.plot.left.connect(self.hover.hide)
        self.vb.sigRangeChanged.connect(lambda *_: self.viewRangeChanged.emit())
        self.set_latent_dim(2)

    # --- data ------------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[int, int]:
        return self._dims

    def set_dataset(self, images: np.ndarray | None, labels: np.ndarray, classes: list[str]) -> None:
        """The test images (for hover thumbnails), their labels and the class names."""
        self._images = images
        self._labels = np.asarray(labels, np.int64)
        if classes != self._classes:
            self._classes = list(classes)
            self.legend.set_classes(self._classes)
            self.cloud.show_all_classes()

    def set_latent_dim(self, latent_dim: int) -> None:
        """Offer dims 0..latent_dim-1 on each axis; keeps the current pair when it fits."""
        if latent_dim == self._latent_dim and self.x_dim.count() == latent_dim:
            return
        self._latent_dim = latent_dim
        x, y = self._dims
        if x >= latent_dim or y >= latent_dim or x == y:
            x, y = 0, min(1, latent_dim - 1)
        for combo, value in ((self.x_dim, x), (self.y_dim, y)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"z[{i}]" for i in range(latent_dim)])
            combo.setCurrentIndex(value)
            combo.setEnabled(latent_dim > 2)
            combo.blockSignals(False)
        self._set_dims(x, y, emit=False)

    def set_latents(self, mu: np.ndarray, logvar: np.ndarray | None = None) -> None:
        """Show new encoded means [N, latent_dim] (the same N as the labels)."""
        self._mu = np.asarray(mu)
        self._logvar = None if logvar is None else np.asarray(logvar)
        self._refresh_points()

    def latents(self) -> np.ndarray | None:
        return self._mu

    def _refresh_points(self) -> None:
        if self._mu is None or self._mu.shape[0] != self._labels.shape[0]:
            self.cloud.set_data(np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
            return
        dx, dy = self._dims
        y = self._mu[:, dy] if self._mu.shape[1] > 1 else np.zeros(len(self._mu))
        self.cloud.set_data(self._mu[:, dx], y, self._labels)

    def _set_dims(self, x: int, y: int, emit: bool = True) -> None:
        self._dims = (x, y)
        self.plot.getPlotItem().setLabel("bottom", f"z[{x}]")
        self.plot.getPlotItem().setLabel("left", f"z[{y}]")
        self._refresh_points()
        if emit:
            self.dimsChanged.emit(x, y)

    def visible_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (x0, x1), (y0, y1)

    # --- overlays --------------------------------------------------------------------------
    def set_crosshair(self, xy: np.ndarray | None) -> None:
        """Mark the decoded point (shown dims), or hide the mark."""
        self.crosshair.setVisible(xy is not None)
        if xy is not None:
            self.crosshair.setPos(float(xy[0]), float(xy[1]))

    def crosshair_pos(self) -> tuple[float, float] | None:
        if not self.crosshair.isVisible():
            return None
        return self.crosshair.pos().x(), self.crosshair.pos().y()

    def set_posterior(self, mu: np.ndarray | None, logvar: np.ndarray | None) -> None:
        """Mark a posterior q(z|x) (full-dim mu/logvar) with 1 and 2 sigma ellipses."""
        items = (self.posterior_marker, self.posterior_1sd, self.posterior_2sd)
        if mu is None or logvar is None or len(mu) <= max(self._dims):
            for item in items:
                item.setVisible(False)
            return
        d = self._dims
        m = (float(mu[d[0]]), float(mu[d[1]]) if len(mu) > 1 else 0.0)
        lv = (float(logvar[d[0]]), float(logvar[d[1]]) if len(logvar) > 1 else 0.0)
        self.posterior_marker.setPos(m[0], m[1])
        for item, k in ((self.posterior_1sd, 1.0), (self.posterior_2sd, 2.0)):
            ex, ey = posterior_ellipse(m, lv, k)
            path = QPainterPath(QPointF(ex[0], ey[0]))
            for x, y in zip(ex[1:].tolist(), ey[1:].tolist(), strict=True):
                path.lineTo(x, y)
            item.setPath(path)
        for item in items:
            item.setVisible(True)

    def set_overlay(self, mosaic: np.ndarray | None, rect: QRectF | None = None) -> None:
        """Show a decoded-grid mosaic (row 0 = top) stretched over ``rect`` in data units."""
        if mosaic is None or rect is None:
            self.overlay.setVisible(False)
            return
        # ImageItem row 0 is drawn at the rect's top (smallest y), so flip rows.
        self.overlay.setImage(np.ascontiguousarray(mosaic[::-1]), levels=(0.0, 1.0))
        self.overlay.setRect(rect)
        self.overlay.setVisible(self.overlay_check.isChecked())

    def overlay_enabled(self) -> bool:
        return self.overlay_check.isChecked()

    # --- coordinates (used by tests and the benchmark) -------------------------------------
    def data_to_viewport(self, x: float, y: float) -> QPointF:
        """Widget coordinates of the plot's viewport for a point in the shown dims."""
        scene = self.vb.mapViewToScene(QPointF(x, y))
        return QPointF(self.plot.mapFromScene(scene))

    # --- slots -----------------------------------------------------------------------------
    def _on_dims_changed(self) -> None:
        x, y = self.x_dim.currentIndex(), self.y_dim.currentIndex()
        if x >= 0 and y >= 0:
            self._set_dims(x, y)

    def _on_overlay_toggled(self, on: bool) -> None:
        self.overlay.setVisible(on and self.overlay.image is not None)
        self.overlayToggled.emit(on)

    def _on_class_toggled(self, label: int, visible: bool) -> None:
        self.cloud.set_class_visible(label, visible)

    def _on_plot_pressed(self, pos: QPointF) -> None:
        self.hover.hide()
        self._press_pos = pos
        self.latentPressed.emit(np.array([pos.x(), pos.y()]))

    def _on_plot_dragged(self, pos: QPointF) -> None:
        self._pending_drag = np.array([pos.x(), pos.y()])
        if not self._drag_timer.isActive():
            self._drag_timer.start()

    def _on_drag_timer(self) -> None:
        if self._pending_drag is not None:
            z, self._pending_drag = self._pending_drag, None
            self.latentDragged.emit(z)

    def _on_plot_released(self, pos: QPointF) -> None:
        if self._drag_timer.isActive():
            self._drag_timer.stop()
            self._on_drag_timer()
        start, self._press_pos = self._press_pos, None
        if start is None:
            return
        a = self.data_to_viewport(start.x(), start.y())
        b = self.data_to_viewport(pos.x(), pos.y())
        if (a - b).manhattanLength() <= 3:
            i = self._point_near(start)
            if i >= 0:
                self.pointSelected.emit(i)

    def _point_near(self, pos: QPointF) -> int:
        x, y = self.cloud.points()
        if x.size == 0:
            return -1
        sx = self.vb.viewPixelSize()
        i, dist = nearest_point(x, y, pos.x(), pos.y(), sx[0], sx[1], self.cloud.visible_mask())
        return i if dist <= HOVER_RADIUS_PX else -1

    def _on_plot_hovered(self, pos: QPointF) -> None:
        self._pending_hover = pos
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _on_hover_timer(self) -> None:
        pos, self._pending_hover = self._pending_hover, None
        if pos is None or self._images is None:
            return
        i = self._point_near(pos)
        if i < 0:
            self.hover.hide()
            return
        label = int(self._labels[i])
        name = self._classes[label] if label < len(self._classes) else str(label)
        at = self.data_to_viewport(float(self.cloud.points()[0][i]), float(self.cloud.points()[1][i]))
        self.hover.show_item(i, self._images[i], f"{name}  ·  #{i}", at)

"""numpy images to Qt: greyscale QImages and a crisp, aspect-keeping image widget."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..core.image import to_uint8

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size (PySide does not export it)


def gray_qimage(image: np.ndarray) -> QImage:
    """A QImage (Grayscale8) that owns a copy of a 2-d image in [0, 1] or uint8."""
    a = to_uint8(image)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-d image, got shape {a.shape}")
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def gray_pixmap(image: np.ndarray, scale: int = 1) -> QPixmap:
    """A pixmap of the image enlarged by an integer factor without smoothing."""
    qimg = gray_qimage(image)
    if scale > 1:
        qimg = qimg.scaled(qimg.width() * scale, qimg.height() * scale)
    return QPixmap.fromImage(qimg)


class ImageCanvas(QWidget):
    """Shows one greyscale image as large as fits, square pixels, no smoothing.

    ``clicked(fx, fy)`` gives the click position as fractions (0..1) of the image's width
    and height, so a mosaic can tell which tile was hit. ``repainted`` follows each paint.
    """

    clicked = Signal(float, float)
    repainted = Signal()

    def __init__(self, parent: QWidget | None = None, min_side: int = 112, hug_height: bool = False) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._highlight: QRectF | None = None
        self._array: np.ndarray | None = None
        self._min_side = min_side
        # A wide image (a row of digits) in a tall space: no taller than the image at this
        # width, so what is laid out under it sits right under it, not at the space's foot.
        self._hug_height = hug_height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def _fit_height(self) -> None:
        if not self._hug_height:
            return
        most = QWIDGETSIZE_MAX
        if self._image is not None and self._image.width() > 0:
            most = max(
                self._min_side, int(np.ceil(self.width() * self._image.height() / self._image.width()))
            )
        if self.maximumHeight() != most:
            self.setMaximumHeight(most)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min_side, self._min_side)

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image`` (2-d, [0, 1] floats or uint8); None clears the view."""
        self._array = None if image is None else np.array(image, copy=True)
        # RGB32 takes the raster engine's fast path for an unsmoothed, scaled draw.
        self._image = (
            None if image is None else gray_qimage(image).convertToFormat(QImage.Format.Format_RGB32)
        )
        self._fit_height()
        self.update()

    def image(self) -> np.ndarray | None:
        """The array currently shown (a copy the widget owns)."""
        return self._array

    def set_highlight(self, rect: QRectF | None) -> None:
        """Outline ``rect`` (in image pixels) over the image, e.g. the picked tile."""
        self._highlight = rect
        self.update()

    def target_rect(self) -> QRectF:
        """Where the image is drawn in widget coordinates (centred, aspect kept)."""
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            r = self.target_rect()
            p.drawImage(r, self._image)
            if self._highlight is not None:
                sx, sy = r.width() / self._image.width(), r.height() / self._image.height()
                h = self._highlight
                p.setPen(QPen(QColor("#ffeb3b"), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(r.x() + h.x() * sx, r.y() + h.y() * sy, h.width() * sx, h.height() * sy))
        p.end()
        self.repainted.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._image is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        r = self.target_rect()
        pos: QPointF = event.position()
        if r.contains(pos):
            self.clicked.emit((pos.x() - r.x()) / r.width(), (pos.y() - r.y()) / r.height())
        event.accept()

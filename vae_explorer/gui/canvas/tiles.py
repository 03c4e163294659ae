"""Small captioned 28x28 image tiles: the canvas' Original, Masked, Imputed and Spread
views, and the strip of imputation draws."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..images import gray_qimage
from .paint_canvas import MASK_RGB, SIDE, mask_qimage

SPREAD_MAX = 0.5  # the largest std a pixel in [0, 1] can have: the spread map's full scale
TEXT_H = 16  # caption height under a tile
SMALLEST_POINTS = 6.0  # a placeholder text shrinks to fit its box down to this size


def draw_fitted_text(p: QPainter, box: QRectF, text: str, font: QFont) -> bool:
    """``text`` centred and word-wrapped in ``box``, in ``font`` or as much smaller as it
    takes to fit whole; nothing if it does not fit even then (a 28-px tile cut "nothing
    masked" to "othin / aske"). True if drawn."""
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    inner = box.adjusted(2, 2, -2, -2)
    fitted = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
    while size >= SMALLEST_POINTS:
        fitted.setPointSizeF(size)
        need = QFontMetricsF(fitted).boundingRect(inner, int(flags), text)
        if need.width() <= inner.width() + 0.5 and need.height() <= inner.height() + 0.5:
            p.save()
            p.setFont(fitted)
            p.drawText(inner, flags, text)
            p.restore()
            return True
        size -= 0.5
    return False


def _heat_lut() -> np.ndarray:
    """256 RGB entries from black through red and orange to pale yellow ("hot")."""
    t = np.linspace(0.0, 1.0, 256)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], 1)
    return np.round(rgb * 255).astype(np.uint8)


HEAT_LUT = _heat_lut()


def heat_qimage(values: np.ndarray, vmax: float = SPREAD_MAX) -> QImage:
    """An RGB QImage of a 2-d array, 0 black to ``vmax`` pale yellow (clipped)."""
    v = np.asarray(values, np.float64)
    index = np.clip(np.nan_to_num(v / max(vmax, 1e-12)) * 255, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(HEAT_LUT[index])
    h, w = v.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageTile(QWidget):
    """A small captioned view of one 28x28 image, optionally with the mask overlaid."""

    def __init__(self, title: str, parent: QWidget | None = None, heat: bool = False) -> None:
        super().__init__(parent)
        self._title = title
        self._heat = heat  # a spread map: values drawn with HEAT_LUT, not grey
        self._heat_max = SPREAD_MAX
        self._image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._outline: np.ndarray | None = None
        self._placeholder = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(2 * SIDE + 4, int(1.5 * SIDE) + TEXT_H)

    def title(self) -> str:
        return self._title

    def set_title(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.update()

    def set_heat_max(self, vmax: float) -> None:
        """The value drawn brightest on a spread map."""
        self._heat_max = float(vmax)
        self.update()

    def image(self) -> np.ndarray | None:
        """The image shown, float32 [28, 28] (a copy), or None."""
        return None if self._image is None else self._image.copy()

    def set_image(
        self,
        image: np.ndarray | None,
        mask: np.ndarray | None = None,
        placeholder: str = "",
        outline: np.ndarray | None = None,
    ) -> None:
        """Show ``image`` with ``mask`` (True = missing) drawn opaque and the border of the
        ``outline`` region traced in the mask colour; None shows ``placeholder``."""
        self._image = None if image is None else np.asarray(image, np.float32).reshape(SIDE, SIDE)
        self._mask = None if mask is None else np.asarray(mask, bool).reshape(SIDE, SIDE)
        self._outline = None if outline is None else np.asarray(outline, bool).reshape(SIDE, SIDE)
        self._placeholder = placeholder
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(3 * SIDE + 8, 3 * SIDE + TEXT_H)

    def image_rect(self) -> QRectF:
        """Where the image is drawn: the largest integer multiple of 28 that fits."""
        side = max(SIDE, min(self.width(), self.height() - TEXT_H))
        side -= side % SIDE
        return QRectF((self.width() - side) // 2, 0, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        text_h = TEXT_H
        r = self.image_rect()
        p.fillRect(r, QColor(0, 0, 0))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(
                r, heat_qimage(self._image, self._heat_max) if self._heat else gray_qimage(self._image)
            )
            if self._mask is not None and self._mask.any():
                p.drawImage(r, mask_qimage(self._mask, alpha=255))
            if self._outline is not None and self._outline.any():
                _draw_outline(p, r, self._outline)
        elif self._placeholder:
            p.setPen(self.palette().placeholderText().color())
            draw_fitted_text(p, r, self._placeholder, self.font())
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        p.setPen(self.palette().windowText().color())
        p.drawText(
            QRectF(0, r.bottom() + 2, self.width(), text_h - 2),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            self._title,
        )
        p.end()


def _draw_outline(p: QPainter, r: QRectF, region: np.ndarray) -> None:
    """Trace the edges between pixels inside and outside ``region``."""
    cell = r.width() / SIDE
    p.setPen(QPen(QColor(*MASK_RGB, 220), 1))
    padded = np.pad(region, 1)
    inside = padded[1:-1, 1:-1]
    # Horizontal edges: above row i (between i-1 and i); vertical: left of column j.
    for i, j in np.argwhere(inside & ~padded[:-2, 1:-1]):
        y = r.y() + i * cell
        p.drawLine(QPointF(r.x() + j * cell, y), QPointF(r.x() + (j + 1) * cell, y))
    for i, j in np.argwhere(inside & ~padded[2:, 1:-1]):
        y = r.y() + (i + 1) * cell
        p.drawLine(QPointF(r.x() + j * cell, y), QPointF(r.x() + (j + 1) * cell, y))
    for i, j in np.argwhere(inside & ~padded[1:-1, :-2]):
        x = r.x() + j * cell
        p.drawLine(QPointF(x, r.y() + i * cell), QPointF(x, r.y() + (i + 1) * cell))
    for i, j in np.argwhere(inside & ~padded[1:-1, 2:]):
        x = r.x() + (j + 1) * cell
        p.drawLine(QPointF(x, r.y() + i * cell), QPointF(x, r.y() + (i + 1) * cell))


class ImageStrip(QWidget):
    """A row of 28x28 images (the imputation draws) under a caption, each as large as fits."""

    def __init__(self, title: str, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._count = count
        self._images: np.ndarray | None = None
        self._outline: np.ndarray | None = None
        self._placeholder = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumSize(count * (SIDE + 4), TEXT_H + SIDE + 2)

    def sizeHint(self) -> QSize:
        return QSize(self._count * (2 * SIDE + 4), TEXT_H + int(1.5 * SIDE) + 2)

    def images(self) -> np.ndarray | None:
        """The images on show, float32 [count, 28, 28] (a copy), or None."""
        return None if self._images is None else self._images.copy()

    def set_images(
        self, images: np.ndarray | None, outline: np.ndarray | None = None, placeholder: str = ""
    ) -> None:
        """Show ``images`` [count, 28, 28] (each with ``outline``'s border); None: ``placeholder``."""
        self._images = None if images is None else np.asarray(images, np.float32).reshape(-1, SIDE, SIDE)
        self._outline = None if outline is None else np.asarray(outline, bool).reshape(SIDE, SIDE)
        self._placeholder = placeholder
        self.update()

    def cell_rect(self, i: int) -> QRectF:
        """Where image ``i`` is drawn."""
        gap = 4
        side = min((self.width() - gap * (self._count - 1)) / self._count, self.height() - TEXT_H)
        side = max(side, 8.0)
        total = self._count * side + gap * (self._count - 1)
        x0 = (self.width() - total) / 2
        return QRectF(x0 + i * (side + gap), TEXT_H, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, self.width(), TEXT_H), Qt.AlignmentFlag.AlignCenter, self._title)
        images = self._images
        if images is None and self._placeholder:  # one box for the row: the text is not cut by cells
            first, last = self.cell_rect(0), self.cell_rect(self._count - 1)
            box = QRectF(first.left(), first.top(), last.right() - first.left(), first.height())
            p.fillRect(box, QColor(0, 0, 0))
            p.setPen(QPen(self.palette().mid().color(), 1))
            p.drawRect(box.adjusted(0, 0, -1, -1))
            p.setPen(self.palette().placeholderText().color())
            draw_fitted_text(p, box, self._placeholder, self.font())
            p.end()
            return
        for i in range(self._count):
            r = self.cell_rect(i)
            p.fillRect(r, QColor(0, 0, 0))
            if images is not None and i < len(images):
                p.drawImage(r, gray_qimage(images[i]))
                if self._outline is not None and self._outline.any():
                    _draw_outline(p, r, self._outline)
            p.setPen(QPen(self.palette().mid().color(), 1))
            p.drawRect(r.adjusted(0, 0, -1, -1))
        p.end()

"""Small captioned 28x28 image tiles: the canvas' Original, Masked and Imputed views."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..images import gray_qimage
from .paint_canvas import MASK_RGB, SIDE, mask_qimage


class ImageTile(QWidget):
    """A small captioned view of one 28x28 image, optionally with the mask overlaid."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._outline: np.ndarray | None = None
        self._placeholder = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(76, 96)

    def title(self) -> str:
        return self._title

    def set_title(self, title: str) -> None:
        if title != self._title:
            self._title = title
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
        return QSize(4 * SIDE + 8, 4 * SIDE + 28)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return width + 20

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        text_h = 20
        side = max(SIDE, min(self.width(), self.height() - text_h))
        side -= side % SIDE
        r = QRectF((self.width() - side) // 2, 0, side, side)
        p.fillRect(r, QColor(0, 0, 0))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(r, gray_qimage(self._image))
            if self._mask is not None and self._mask.any():
                p.drawImage(r, mask_qimage(self._mask, alpha=255))
            if self._outline is not None and self._outline.any():
                _draw_outline(p, r, self._outline)
        elif self._placeholder:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
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

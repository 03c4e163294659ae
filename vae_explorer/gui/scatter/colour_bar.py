"""Colouring points by a value: the 64-entry colour table, quantising values into it, and
the colour bar drawn beside the plot (outside the data area, under the class legend).

Values become indices into a small table (one sprite per entry in the point cloud's
atlas), never one brush per point.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QLinearGradient, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

TABLE_SIZE = 64
COLOUR_MAP = "viridis"  # perceptually uniform, readable by colour-blind users, dark to light
CLIP_PERCENTILES = (1.0, 99.0)  # a few extreme images must not squash everyone else's colour
_WRAP = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)


def colour_table(n: int = TABLE_SIZE) -> list[str]:
    """``n`` colours (hex) from low to high values."""
    lut = pg.colormap.get(COLOUR_MAP).getLookupTable(nPts=n, alpha=False)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.asarray(lut, int).tolist()]


def value_range(values: np.ndarray) -> tuple[float, float]:
    """The range the colours span: the 1st to the 99th percentile of the finite values."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = (float(x) for x in np.percentile(v, CLIP_PERCENTILES))
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def quantise(values: np.ndarray, lo: float, hi: float, n: int = TABLE_SIZE) -> np.ndarray:
    """Table indices (int64, 0 .. n-1) of ``values``: linear in [lo, hi], clipped outside;
    non-finite values get 0. A larger value never gets a smaller index."""
    v = np.nan_to_num(np.asarray(values, np.float64), nan=lo, posinf=hi, neginf=lo)
    scaled = (v - lo) / max(hi - lo, 1e-300) * n
    return np.clip(np.floor(scaled), 0, n - 1).astype(np.int64)


def format_value(x: float) -> str:
    """A short number for the bar's ends: -123.4, 0.052, 1.2e+04."""
    a = abs(x)
    if a != 0 and (a >= 1e4 or a < 1e-2):
        return f"{x:.2g}"
    return f"{x:.3g}" if a < 10 else f"{x:.1f}"


class ColourBarItem(pg.GraphicsWidget):
    """A vertical colour bar with a title and the values at its two ends."""

    BAR_WIDTH = 14
    SIZE = (96, 170)

    def __init__(self) -> None:
        super().__init__()
        self._colours = [QColor(c) for c in colour_table()]
        self._range = (0.0, 1.0)
        self._title = ""
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        self.setFixedWidth(self.SIZE[0])
        self.setFixedHeight(self.SIZE[1])
        self.setVisible(False)

    def set_values(self, title: str, lo: float, hi: float) -> None:
        """Show the bar for ``title`` spanning ``lo`` (bottom) to ``hi`` (top)."""
        self._title, self._range = title, (float(lo), float(hi))
        self.update()

    def range(self) -> tuple[float, float]:
        return self._range

    def title(self) -> str:
        return self._title

    def labels(self) -> tuple[str, str]:
        """The texts at the bottom and the top of the bar."""
        return format_value(self._range[0]), format_value(self._range[1])

    def title_and_bar_rects(self) -> tuple[QRectF, QRectF]:
        """Where the title and the bar go. A title wider than the column ("ELBO (nats)
        (updating)") takes two lines: cut to one, it lost what it says last."""
        metrics = QFontMetrics(self._font)
        line = metrics.height()
        room = QRect(4, 2, int(self.width()) - 8, 2 * line)
        height = min(metrics.boundingRect(room, _WRAP, self._title).height(), 2 * line)
        top = max(line, height)
        bar = QRectF(6, top + 8, self.BAR_WIDTH, self.height() - top - 16)
        return QRectF(4, 2, room.width(), height), bar

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(0, 0, self.width(), self.height())

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        p.setFont(self._font)
        line = p.fontMetrics().height()
        p.fillRect(self.boundingRect(), QColor(30, 30, 30, 200))
        p.setPen(QColor("#dddddd"))
        title, bar = self.title_and_bar_rects()
        p.drawText(title, _WRAP, self._title)
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())
        last = len(self._colours) - 1
        for i, c in enumerate(self._colours):
            gradient.setColorAt(i / last, c)
        p.fillRect(bar, gradient)
        p.setPen(QColor("#555555"))
        p.drawRect(bar)
        p.setPen(QColor("#dddddd"))
        low, high = self.labels()
        x = bar.right() + 4
        w = self.width() - x - 2
        p.drawText(QRectF(x, bar.top() - 2, w, line), Qt.AlignmentFlag.AlignLeft, high)
        p.drawText(QRectF(x, bar.bottom() - line + 2, w, line), Qt.AlignmentFlag.AlignLeft, low)

"""The column right of the scatter's data area: the class legend, the colour bar under it,
and under those the key to a labelled colouring's marks. Beside the points, never over
them, whatever the zoom."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsTextItem

from .colour_bar import ColourBarItem
from .legend import ClassLegend

GAP = 6  # pixels between the plot's right edge and the column's items
NOTE_MIN_WIDTH = 90.0  # the marks' key wraps at this width at least


class SideColumn(pg.GraphicsWidget):
    """Holds ``legend``, ``colour_bar`` and ``note``; :meth:`place` stacks them."""

    def __init__(self) -> None:
        super().__init__()
        self.legend = ClassLegend()
        self.legend.setParentItem(self)
        self.legend.setZValue(30)
        self.colour_bar = ColourBarItem()
        self.colour_bar.setParentItem(self)
        self.note = QGraphicsTextItem()  # what a labelled colouring's rings / diamonds mean
        self.note.setParentItem(self)
        self.note.setDefaultTextColor(QColor("#bdbdbd"))
        self.note.setVisible(False)

    def set_note(self, text: str) -> None:
        self.note.setPlainText(text)
        self.note.setVisible(bool(text))

    def place(self) -> float:
        """Stack the legend, the colour bar and the note; the column's width."""
        legend, bar, note = self.legend, self.colour_bar, self.note
        legend.updateSize()
        legend.setPos(GAP, 0)
        below = legend.height() + 10 if legend.items else 0.0
        bar.setPos(GAP, below)
        width = max(legend.width() if legend.items else 0.0, bar.width() if bar.isVisible() else 0.0)
        if note.isVisible():
            width = max(width, NOTE_MIN_WIDTH)
            note.setTextWidth(width)
            note.setPos(GAP - 4, below + (bar.height() + 10 if bar.isVisible() else 0.0))
        return GAP + width + 2

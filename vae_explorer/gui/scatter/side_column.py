"""The column right of the scatter's data area: the class legend, the colour bar under it,
and under those the key to a labelled colouring's marks. Beside the points, never over
them, whatever the zoom; all of it always on show: where the plot is too short for the
usual stack, the legend's rows get tighter, then go into two columns, and the key gets
wider (fewer lines)."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsTextItem

from .colour_bar import ColourBarItem
from .legend import ClassLegend

GAP = 6  # pixels between the plot's right edge and the column's items
STACK_GAP = 10  # pixels between the legend, the colour bar and the note
NOTE_MIN_WIDTH = 90.0  # the marks' key wraps at this width at least
NOTE_WIDE = 150.0  # ... and at this one when the column is short
# How the column is packed, most comfortable first: (legend columns, tight rows, note width)
PACKINGS = (
    (1, False, NOTE_MIN_WIDTH),
    (1, True, NOTE_MIN_WIDTH),
    (2, True, NOTE_MIN_WIDTH),
    (2, True, NOTE_WIDE),
)


class SideColumn(pg.GraphicsWidget):
    """Holds ``legend``, ``colour_bar`` and ``note``; :meth:`place` stacks them.
    ``widthChanged(width)``: a new height made it pack its items otherwise."""

    widthChanged = Signal(float)

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
        self._width = 0.0

    def set_note(self, text: str) -> None:
        self.note.setPlainText(text)
        self.note.setVisible(bool(text))

    def needed_height(self) -> float:
        """How tall the stack is as now placed (for tests)."""
        bottom = self.legend.height() if self.legend.items else 0.0
        for item in (self.colour_bar, self.note):
            if item.isVisible():
                bottom = max(bottom, item.pos().y() + item.boundingRect().height())
        return bottom

    def place(self) -> float:
        """Stack the legend, the colour bar and the note, packed as loosely as the
        column's height allows; the column's width."""
        room = self.size().height()  # 0 until the plot's layout has placed the column
        for columns, tight, note_width in PACKINGS:
            width = self._stack(columns, tight, note_width)
            if room <= 0 or self.needed_height() <= room:
                break
        self._width = GAP + width + 2
        return self._width

    def _stack(self, columns: int, tight: bool, note_width: float) -> float:
        legend, bar, note = self.legend, self.colour_bar, self.note
        legend.set_packing(columns, tight)
        legend.setPos(GAP, 0)
        below = legend.height() + STACK_GAP if legend.items else 0.0
        bar.setPos(GAP, below)
        width = max(legend.width() if legend.items else 0.0, bar.width() if bar.isVisible() else 0.0)
        if note.isVisible():
            width = max(width, note_width)
            note.setTextWidth(width)
            note.setPos(GAP - 4, below + (bar.height() + STACK_GAP if bar.isVisible() else 0.0))
        return width

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event is None or event.oldSize().height() == event.newSize().height():
            return
        before = self._width
        if self.place() != before:
            self.widthChanged.emit(self._width)

"""The scatter's class legend: one row per class, a click on a row hides or shows it.

It is as tall as its rows, never more (pyqtgraph's own sizing sums the heights its layout
last handed out, so a legend once stretched never shrank back and grew with every
change); where the plot is short it packs them tighter (:meth:`ClassLegend.set_packing`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from ...core.figures import CLASS_PALETTE

SHOWN_TEXT = "#dddddd"
HIDDEN_TEXT = "#666666"
# (font size, space between rows): the usual rows, and tighter ones for a short plot
ROWS = {False: ("9pt", -4), True: ("7.5pt", -8)}


class ClassLegend(pg.LegendItem):
    """A legend whose rows (symbol or name) toggle their class when clicked.

    ``classToggled(label, visible)`` follows every toggle; the view hides the points.
    """

    classToggled = Signal(int, bool)

    def __init__(self) -> None:
        super().__init__(
            offset=None,  # placed by the view, in the column beside the plot
            labelTextColor=SHOWN_TEXT,
            brush=pg.mkBrush(30, 30, 30, 200),
            pen=pg.mkPen("#555555"),
            verSpacing=ROWS[False][1],
            labelTextSize=ROWS[False][0],
        )
        self._proxies: list[pg.ScatterPlotItem] = []
        self._names: list[str] = []

    def set_classes(self, names: Sequence[str]) -> None:
        """One row per class name, all shown, in the class palette's colours."""
        self.clear()
        self._proxies, self._names = [], list(names)
        for i, name in enumerate(self._names):
            colour = CLASS_PALETTE[i % len(CLASS_PALETTE)]
            proxy = pg.ScatterPlotItem(symbol="o", size=9, pen=None, brush=pg.mkBrush(colour))
            proxy.visibleChanged.connect(lambda i=i: self._on_proxy_visible_changed(i))
            self._proxies.append(proxy)
            self.addItem(proxy, name)

    def set_packing(self, columns: int, tight: bool) -> None:
        """Lay the rows out in ``columns`` columns, in the small font and tight rows
        when ``tight``; then size the legend to them."""
        size, spacing = ROWS[tight]
        if self.opts["labelTextSize"] != size:
            self.opts["labelTextSize"] = size
            for _, label in self.items:
                label.setText(label.text, size=size)
        self.layout.setVerticalSpacing(spacing)
        self.setColumnCount(columns)
        self.updateSize()

    def packing(self) -> tuple[int, bool]:
        """(columns, tight) as last set."""
        return int(self.columnCount), self.opts["labelTextSize"] == ROWS[True][0]

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph override
        """As large as the rows ask for (their preferred sizes, not their current ones)."""
        self.layout.invalidate()
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.resize(hint.width(), hint.height() if self.items else 0.0)

    def set_class_visible(self, label: int, visible: bool) -> None:
        self._proxies[label].setVisible(visible)

    def toggle_class(self, label: int) -> None:
        """Hide a shown class, show a hidden one (a click on its row does the same)."""
        if 0 <= label < len(self._proxies):
            self.set_class_visible(label, not self._proxies[label].isVisible())

    def row_rect(self, label: int) -> QRectF:
        """The row of ``label`` in this item's coordinates (for tests and hit testing)."""
        sample, text = self.items[label]
        return sample.mapRectToParent(sample.boundingRect()).united(text.mapRectToParent(text.boundingRect()))

    def _on_proxy_visible_changed(self, label: int) -> None:
        visible = self._proxies[label].isVisible()
        sample, text = self.items[label]
        text.setText(self._names[label], color=SHOWN_TEXT if visible else HIDDEN_TEXT)
        sample.update()
        self.classToggled.emit(label, visible)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for label in range(len(self.items)):
            if self.row_rect(label).contains(ev.pos()):
                self.toggle_class(label)
                ev.accept()
                return

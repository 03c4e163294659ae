"""The scatter's mouse hint: the longest wording that fits, never cut off mid-word, in the
room the tool row leaves at the end of its last line. It is not one of the row's items:
whatever its wording, it never makes the row wrap, so it never moves the plot."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QLayoutItem, QSizePolicy, QWidget

from ..panels.flow_layout import FlowLayout

HINT_FULL = (
    "click / drag: decode   ·   right-click: walk, traverse   ·   right-drag: pan   ·   wheel: zoom"
    "   ·   legend: hide a class"
)
# Longest first; the tooltip always has the whole of it.
HINTS = (
    HINT_FULL,
    "drag: decode · right-click: walk… · wheel: zoom",
    "drag: decode · right-drag: pan · wheel: zoom",
    "drag: decode · wheel: zoom",
    "? mouse",
    "?",
)


def hint_for(label: QLabel, width: int) -> str:
    """The longest of :data:`HINTS` that fits ``width`` pixels in ``label``'s font ("" if none)."""
    metrics = label.fontMetrics()
    return next((h for h in HINTS if metrics.horizontalAdvance(h) <= width), "")


class HintLabel(QLabel):
    """A grey hint that shows the longest of :data:`HINTS` fitting its width: its wording
    depends on its width alone. A hint, not a control: it never widens the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(HINTS[-1], parent)
        self.setStyleSheet("color: #999;")
        self.setMinimumWidth(1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("Mouse: " + HINT_FULL.replace("   ", " "))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As wide as the shortest wording (a label's own hint is its text's width, which
        would follow the wording it was last given)."""
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(HINTS[-1]) + 4, hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        text = hint_for(self, self.width())
        if text != self.text():
            self.setText(text)


class ToolRow(FlowLayout):
    """The scatter's tool row: a FlowLayout whose ``hint`` (a child of the row's widget,
    not an item) takes what is left at the end of the last line, or nothing."""

    def __init__(self, hint: HintLabel, spacing: int = 6) -> None:
        super().__init__(spacing=spacing)
        self.hint = hint
        self._gap_px = spacing

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self.place_hint(rect)

    def place_hint(self, rect: QRect) -> None:
        items = (self.itemAt(i) for i in range(self.count()))
        shown = [item for item in items if item is not None and not item.isEmpty()]
        m = self.contentsMargins()
        right = rect.right() - m.right()
        if not shown:
            self.hint.setGeometry(QRect(rect.x() + m.left(), rect.y() + m.top(), 0, 0))
            return
        last = shown[-1].geometry()
        line = _line_of(shown, last)
        left = last.right() + 1 + self._gap_px
        self.hint.setGeometry(QRect(left, line.top(), max(right + 1 - left, 0), line.height()))


def _line_of(items: list[QLayoutItem], last: QRect) -> QRect:
    """The band of the row's line that ``last`` is on (the items it shares a line with)."""
    band = QRect(last)
    for item in items:
        g = item.geometry()
        if g.top() <= last.center().y() <= g.bottom():
            band = band.united(g)
    return band

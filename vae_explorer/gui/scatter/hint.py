"""The scatter's mouse hint: the longest wording that fits, never cut off mid-word, in the
room the tool row leaves at the end of its last line. It is not one of the row's items:
whatever its wording, it never makes the row wrap, so it never moves the plot."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ..panels.flow_row import FlowRow

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


class ToolRow(FlowRow):
    """The scatter's tool row: a FlowRow whose ``hint`` (a child of the row, not one of its
    widgets) takes what is left at the end of the last line, or nothing."""

    def __init__(self, spacing: int = 6) -> None:
        super().__init__(spacing=spacing)
        self.hint = HintLabel(self)

    def arrange(self) -> None:
        super().arrange()
        self.place_hint()

    def place_hint(self) -> None:
        shown = self.shown()
        m = self.contentsMargins()
        right = self.width() - m.right()
        if not shown:
            self.hint.setGeometry(QRect(m.left(), m.top(), 0, 0))
            return
        last = shown[-1].geometry()
        line = _line_of(shown, last)
        left = last.right() + 1 + self._gap
        self.hint.setGeometry(QRect(left, line.top(), max(right - left, 0), line.height()))


def _line_of(widgets: list[QWidget], last: QRect) -> QRect:
    """The band of the row's line that ``last`` is on (the widgets it shares a line with)."""
    band = QRect(last)
    for w in widgets:
        g = w.geometry()
        if g.top() <= last.center().y() <= g.bottom():
            band = band.united(g)
    return band

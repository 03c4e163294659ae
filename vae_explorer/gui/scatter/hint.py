"""The scatter's mouse hint: the longest wording that fits, never cut off mid-word."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

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
)


class HintLabel(QLabel):
    """A grey hint that shows the longest of :data:`HINTS` fitting its width. A hint, not a
    control: it never widens the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(HINTS[-1], parent)
        self.setStyleSheet("color: #999;")
        self.setMinimumWidth(1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("Mouse: " + HINT_FULL.replace("   ", " "))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As wide as the shortest wording: in a wrapping tool row it shares the first
        line and takes what is left of it."""
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(HINTS[-1]) + 4, hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        metrics, width = self.fontMetrics(), self.width()
        text = next((h for h in HINTS if metrics.horizontalAdvance(h) <= width), "")
        if text != self.text():
            self.setText(text)

"""Labels the window's panels share: one that elides a line it has no room for, and
word-wrapped ones that never ask for their height by their width."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel


class ElidedLabel(QLabel):
    """A one-line label that asks for its whole text but, given less, ends it with "…"
    (never cut mid-letter); ``text()`` and the tooltip keep the whole text."""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.setToolTip(text)  # the whole text when it is cut (a caller may say more)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        m = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance("…") + m.left() + m.right()
        return QSize(width, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())

    def shown_text(self) -> str:
        """The text as painted at the label's width now."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)


class WrappedLabel(QLabel):
    """A word-wrapped label that never asks for its height by its width.

    With height-for-width, every new text (a training status, several a second) made the
    layouts above recompute heights through the whole dock (event-loop delay p99 while
    training 28-31 ms against 18-22 ms without, gui_bench), and a dock's scroll area sized
    its panel by the label's preferred height, growing a scroll bar it does not need.
    QLabel turns the size policy's height-for-width back on at every setText, so it is
    refused here.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False


class FixedLinesLabel(WrappedLabel):
    """A :class:`WrappedLabel` with a fixed room of ``lines`` lines: its height never
    follows the text (QLabel guesses a wrapped text's lines at a width of its own), so the
    controls around it stay put (a click aimed at one landed on another when a message
    changed its length). A longer text is cut; the tooltip has all of it."""

    def __init__(self, lines: int = 2) -> None:
        super().__init__()
        self.lines = lines

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        m = self.contentsMargins()
        height = self.lines * self.fontMetrics().lineSpacing() + m.top() + m.bottom()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.setToolTip(text)

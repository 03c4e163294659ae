"""The hover card: a test image's thumbnail and class, floating over the plot."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ..images import gray_pixmap

THUMBNAIL_SCALE = 3
CURSOR_OFFSET = 14  # pixels between the point and the card's corner


class HoverCard(QFrame):
    """A small floating card with a test image thumbnail and its caption, over ``parent``.

    Transparent for the mouse, so it never steals a press from the plot under it.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("HoverCard")
        self.setStyleSheet(
            "#HoverCard { background: rgba(25, 25, 28, 235); border: 1px solid #777;"
            " border-radius: 4px; } QLabel { color: #eee; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(5, 5, 5, 4)
        lay.setSpacing(2)
        self.image = QLabel()
        self.text = QLabel()
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.image, 0, Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.text)
        self.hint = QLabel()  # what a right click offers, until the user has found it
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: #9a9a9a; font-size: 9pt;")
        self.hint.setVisible(False)
        lay.addWidget(self.hint)
        self.index = -1  # the test index on show, -1 when none has been
        self.hide()

    def show_item(self, index: int, image: np.ndarray, caption: str, at: QPointF, hint: str = "") -> None:
        """Show ``image`` and ``caption`` (and a dim ``hint`` line) beside ``at`` (parent
        coordinates), kept inside the parent: below right of the point, or above it when
        there is no room."""
        self.index = index
        self.image.setPixmap(gray_pixmap(image, THUMBNAIL_SCALE))
        self.text.setText(caption)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.adjustSize()
        self.place(at)

    def place(self, at: QPointF) -> None:
        """Move the card on show beside ``at`` (parent coordinates), as show_item does."""
        parent = self.parentWidget()
        x, y = int(at.x()) + CURSOR_OFFSET, int(at.y()) + CURSOR_OFFSET
        if parent is not None:
            x = min(x, parent.width() - self.width() - 2)
            y = min(y, parent.height() - self.height() - 2)
            if x < int(at.x()) and y < int(at.y()):
                y = int(at.y()) - self.height() - 10
        self.move(max(x, 0), max(y, 0))
        self.show()
        self.raise_()

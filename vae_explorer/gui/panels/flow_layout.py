"""A layout that lays its items out in a row and wraps them onto more rows when narrow.

Tool rows (the scatter's, the posterior's) use it so they never set a dock's or the
window's minimum width: the minimum is the widest single item, not the sum of all.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new row when the next one does not fit. An item
    whose horizontal policy expands (``stretch`` in :meth:`add`) takes the rest of its row."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6, row_spacing: int = 2) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self._row_gap = row_spacing

    def add(self, widget: QWidget, stretch: bool = False) -> QWidget:
        """Add ``widget``; a stretched one takes what is left of its row."""
        if stretch:
            policy = widget.sizePolicy()
            policy.setHorizontalPolicy(QSizePolicy.Policy.Expanding)
            widget.setSizePolicy(policy)
        self.addWidget(widget)
        return widget

    # --- QLayout's interface ---------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._live())

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        items = self._live()
        return items[index] if 0 <= index < len(items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        items = self._live()
        return items.pop(index) if 0 <= index < len(items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Everything on one row."""
        shown = self._shown()
        width = sum(i.sizeHint().width() for i in shown) + self._gap * max(len(shown) - 1, 0)
        height = max((i.sizeHint().height() for i in shown), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        """The widest single item: everything else wraps."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # --- placing ---------------------------------------------------------------------------
    def _live(self) -> list[QLayoutItem]:
        """The items, less any Qt has deleted behind the layout's back: while a window is
        torn down Qt deletes a widget's children without telling their layout (no
        ChildRemoved, so no takeAt), and a focus change meanwhile can still ask the layout
        for its size."""
        if not all(map(shiboken6.isValid, self._items)):
            self._items = [i for i in self._items if shiboken6.isValid(i)]
        return self._items

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._live() if not i.isEmpty()]

    def _rows(self, width: int) -> list[list[QLayoutItem]]:
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._shown():
            w = item.sizeHint().width()
            if rows[-1] and used + self._gap + w > width:
                rows.append([])
                used = 0
            used += (self._gap if rows[-1] else 0) + w
            rows[-1].append(item)
        return [r for r in rows if r]

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place the items in ``rect`` (when ``move``); the height they need."""
        m = self.contentsMargins()
        inner = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = inner.y()
        for row in self._rows(inner.width()):
            height = max(i.sizeHint().height() for i in row)
            widths = [min(i.sizeHint().width(), inner.width()) for i in row]
            spare = inner.width() - sum(widths) - self._gap * (len(row) - 1)
            growing = [k for k, i in enumerate(row) if i.expandingDirections() & Qt.Orientation.Horizontal]
            for k in growing:
                widths[k] += max(spare, 0) // len(growing)
            x = inner.x()
            for item, w in zip(row, widths, strict=True):
                w = max(w, item.minimumSize().width()) if w < inner.width() else w
                if move:
                    h = min(height, max(item.sizeHint().height(), item.minimumSize().height()))
                    item.setGeometry(QRect(QPoint(x, y + (height - h) // 2), QSize(w, h)))
                x += w + self._gap
            y += height + self._row_gap
        return y - self._row_gap - inner.y() + m.top() + m.bottom() if self._shown() else 0


def labelled(text: str, widget: QWidget, tooltip: str = "") -> QWidget:
    """``widget`` with a label before it, as one item (so a wrap never parts them)."""
    box = QWidget()
    # Its own width, no more (a flow layout's ``add(stretch=True)`` makes it grow).
    box.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(3)
    label = QLabel(text)
    label.setToolTip(tooltip or widget.toolTip())
    label.setBuddy(widget)
    row.addWidget(label)
    row.addWidget(widget, 1)
    return box

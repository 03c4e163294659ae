"""A row of widgets that wraps onto more lines when narrow.

Tool rows (the scatter's, the posterior's, the analogy's) use it so they never set a
dock's or the window's minimum width: the minimum is the widest single widget, not the sum.

It is a widget that places its children itself, not a QLayout subclass: a Python layout
has to keep Python wrappers of the QLayoutItems Qt makes for it, which shiboken cannot
follow (they are not QObjects). In the window such wrappers went stale, and later a run's
end took live widgets with them (the status bar, the scatter's x/y pickers: "Internal C++
object already deleted"). Children are QObjects: their lifetime is tracked.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QChildEvent, QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

_SHOWN_OR_HIDDEN = (QEvent.Type.ShowToParent, QEvent.Type.HideToParent)


class FlowRow(QWidget):
    """Widgets left to right, wrapping to a new line when the next one does not fit; each
    line's widgets centred on it. A widget added with ``stretch`` takes the rest of its line."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6, line_spacing: int = 2) -> None:
        super().__init__(parent)
        self._widgets: list[QWidget] = []
        self._gap = spacing
        self._line_gap = line_spacing
        # The sizes the parent's layout last read: (hint, least, (width, height for it)).
        self._read: list[object] = [None, None, None]
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def add(self, widget: QWidget, stretch: bool = False) -> QWidget:
        """Append ``widget`` (a widget hidden before stays hidden); returns it."""
        if stretch:
            policy = widget.sizePolicy()
            policy.setHorizontalPolicy(QSizePolicy.Policy.Expanding)
            widget.setSizePolicy(policy)
        hidden = widget.isHidden() and widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide)
        widget.setParent(self)
        widget.installEventFilter(self)
        self._widgets.append(widget)
        if not hidden:
            widget.show()
        self._changed()
        return widget

    def widgets(self) -> list[QWidget]:
        """The row's widgets, in order (those deleted since left out)."""
        if not all(map(shiboken6.isValid, self._widgets)):
            self._widgets = [w for w in self._widgets if shiboken6.isValid(w)]
        return self._widgets

    def shown(self) -> list[QWidget]:
        return [w for w in self.widgets() if not w.isHidden()]

    # --- sizes -----------------------------------------------------------------------------
    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        height = self._arrange(width, move=False)
        self._read[2] = (width, height)
        return height

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        self._read[0] = hint = self._one_line()
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        self._read[1] = least = self._widest()
        return least

    def _one_line(self) -> QSize:
        """Everything on one line."""
        shown = self.shown()
        width = sum(_hint(w).width() for w in shown) + self._gap * max(len(shown) - 1, 0)
        height = max((_hint(w).height() for w in shown), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def _widest(self) -> QSize:
        """The widest single widget: everything else wraps."""
        size = QSize(0, 0)
        for w in self.shown():
            size = size.expandedTo(_least(w))
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # --- events ----------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in _SHOWN_OR_HIDDEN:
            self._changed()
        return False

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # (a child's updateGeometry, posted here)
            self._changed()
        elif isinstance(event, QChildEvent) and event.type() == QEvent.Type.ChildRemoved:
            self._widgets = [w for w in self.widgets() if w is not event.child()]
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.arrange()

    def _changed(self) -> None:
        # The parent's layout is told only when a size it read has changed: a child's new
        # text of the same size (a readout's, on every pick) must not relayout the window.
        hint, least, height_for = self._read
        if (
            hint != self._one_line()
            or least != self._widest()
            or (isinstance(height_for, tuple) and height_for[1] != self._arrange(height_for[0], move=False))
        ):
            self.updateGeometry()
        self.arrange()

    # --- placing ---------------------------------------------------------------------------
    def arrange(self) -> None:
        """Place the widgets in the row's present width."""
        self._arrange(self.width(), move=True)

    def _lines(self, width: int) -> list[list[QWidget]]:
        lines: list[list[QWidget]] = [[]]
        used = 0
        for w in self.shown():
            hint = _hint(w).width()
            if lines[-1] and used + self._gap + hint > width:
                lines.append([])
                used = 0
            used += (self._gap if lines[-1] else 0) + hint
            lines[-1].append(w)
        return [line for line in lines if line]

    def _arrange(self, width: int, move: bool) -> int:
        """Place the widgets for ``width`` (when ``move``); the height they need."""
        m = self.contentsMargins()
        inner = QRect(m.left(), m.top(), max(width - m.left() - m.right(), 0), 0)
        y = inner.y()
        lines = self._lines(inner.width())
        for line in lines:
            height = max(_hint(w).height() for w in line)
            widths = [min(_hint(w).width(), inner.width()) for w in line]
            spare = inner.width() - sum(widths) - self._gap * (len(line) - 1)
            growing = [k for k, w in enumerate(line) if _grows(w)]
            for k in growing:
                widths[k] += max(spare, 0) // len(growing)
            x = inner.x()
            for w, wide in zip(line, widths, strict=True):
                wide = max(wide, _least(w).width()) if wide < inner.width() else wide
                if move:
                    h = min(height, max(_hint(w).height(), _least(w).height()))
                    w.setGeometry(QRect(QPoint(x, y + (height - h) // 2), QSize(wide, h)))
                x += wide + self._gap
            y += height + self._line_gap
        return y - self._line_gap - inner.y() + m.top() + m.bottom() if lines else 0


def _hint(widget: QWidget) -> QSize:
    """What a layout would give ``widget`` (QWidgetItem::sizeHint): its hint, no smaller than
    its minimum, no larger than its maximum; 0 along an Ignored direction."""
    hint = widget.sizeHint().expandedTo(widget.minimumSizeHint())
    policy = widget.sizePolicy()
    if policy.horizontalPolicy() == QSizePolicy.Policy.Ignored:
        hint.setWidth(0)
    if policy.verticalPolicy() == QSizePolicy.Policy.Ignored:
        hint.setHeight(0)
    return hint.boundedTo(widget.maximumSize()).expandedTo(widget.minimumSize())


def _least(widget: QWidget) -> QSize:
    """The smallest a layout would make ``widget`` (Qt's qSmartMinSize, simplified)."""
    least = widget.minimumSize()
    hint = widget.minimumSizeHint()
    policy = widget.sizePolicy()
    if least.width() <= 0:
        shrinks = bool(policy.horizontalPolicy().value & QSizePolicy.PolicyFlag.ShrinkFlag.value)
        least.setWidth(hint.width() if shrinks else widget.sizeHint().width())
    if least.height() <= 0:
        shrinks = bool(policy.verticalPolicy().value & QSizePolicy.PolicyFlag.ShrinkFlag.value)
        least.setHeight(hint.height() if shrinks else widget.sizeHint().height())
    return least.boundedTo(widget.maximumSize()).expandedTo(QSize(0, 0))


def _grows(widget: QWidget) -> bool:
    return bool(widget.sizePolicy().expandingDirections() & Qt.Orientation.Horizontal)


def labelled(text: str, widget: QWidget, tooltip: str = "") -> QWidget:
    """``widget`` with a label before it, as one item (so a wrap never parts them)."""
    box = QWidget()
    # Its own width, no more (a flow row's ``add(stretch=True)`` makes it grow).
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

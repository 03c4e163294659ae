"""The mouse wheel scrolls a scrolled panel; it does not change the setting under the pointer.

Qt hands a wheel event to the widget under the pointer, so scrolling the training dock down
past its fields turned whatever spin box or combo box slid under the pointer (epochs, the
likelihood, the seed...) and zoomed the curves plot, with nothing to show it happened. One
application-wide filter makes controls inside a scroll area take the wheel only once they
have the keyboard focus (a click, Tab); until then the wheel scrolls the area. Controls
outside scroll areas (the grid size, the scatter) keep the wheel as they always had. No
control takes the focus from a wheel turn (Qt's WheelFocus): it would then count as
focused by the time the filter sees the turn. Install the guard before the widgets are
shown (it adjusts each when Qt polishes it).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGraphicsView,
    QScrollBar,
    QWidget,
)

_CONTROLS = (QAbstractSpinBox, QComboBox, QAbstractSlider, QGraphicsView)


class WheelGuard(QObject):
    """Event filter (install on the QApplication): see the module doc."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, _CONTROLS):
            # Spin and combo boxes take the focus from a wheel turn (WheelFocus), before any
            # event filter sees the turn: then every control would count as focused here.
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(watched, QWidget):
            return False
        control = _control_of(watched)
        if control is None or control.hasFocus():
            return False
        area = _scroll_area_around(control)
        if area is None:
            return False
        bar = area.verticalScrollBar()
        if isinstance(control, QGraphicsView) and bar.maximum() == bar.minimum():
            return False  # a plot in an area with nothing to scroll keeps its zoom
        QCoreApplication.sendEvent(bar, event)
        return True


def _control_of(widget: QWidget) -> QWidget | None:
    """The value control (or plot) a wheel event on ``widget`` would change: the widget, or
    the spin box / plot it is part of (a spin box's line edit, a plot's viewport)."""
    for w in (widget, widget.parentWidget()):
        if isinstance(w, _CONTROLS) and not isinstance(w, QScrollBar):
            if isinstance(w, QGraphicsView) and w is widget:
                continue  # a view's own frame: the events arrive at its viewport
            return w
    return None


def _scroll_area_around(control: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area holding ``control`` (not the control itself, nor a combo
    box's own popup list)."""
    w = control.parentWidget()
    while w is not None:
        if isinstance(w, QAbstractScrollArea) and not isinstance(w, QGraphicsView):
            return w
        if w.isWindow():
            return None
        w = w.parentWidget()
    return None


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` (once); returns it (kept alive by its parent, app)."""
    existing = app.findChild(WheelGuard)
    if existing is not None:
        return existing
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard

"""Tab and Shift+Tab over what the user can see and use.

Qt's focus chain runs through every control of the window, including those of dock tabs
behind another (Qt keeps a covered dock "visible"): Tab went through some 30 controls that
could not be seen before it came back to the screen. It also stopped on the scroll areas
that hold a panel, on the plots and on a tab bar's scroll arrows, which do nothing with
the keyboard (the bar itself takes the arrow keys) and show no focus.
:func:`move_focus` skips all of these; a control scrolled out of its panel stays a stop
(its scroll area is scrolled to it).
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication, QScrollArea, QTabBar, QWidget

from ..on_screen import enclosing_dock, on_screen

MAX_STEPS = 500  # more than the window has stops: a safe end if nothing qualifies


def is_stop(widget: QWidget) -> bool:
    """Whether Tab should stop at ``widget``."""
    if isinstance(widget, (QScrollArea, pg.GraphicsView)):
        return False
    if isinstance(widget.parentWidget(), QTabBar):  # its scroll arrows: the bar takes the keys
        return False
    dock = enclosing_dock(widget)
    return on_screen(dock if dock is not None else widget)


def move_focus(step: Callable[[bool], bool], forward: bool) -> bool:
    """Move the focus with Qt's ``step`` (QWidget.focusNextPrevChild) until it rests on a
    stop, or has gone round to where it started."""
    start = QApplication.focusWidget()
    for _ in range(MAX_STEPS):
        if not step(forward):
            return False
        widget = QApplication.focusWidget()
        if widget is None or widget is start or is_stop(widget):
            if widget is not None:
                bring_into_view(widget)
            return True
    return True


def bring_into_view(widget: QWidget) -> None:
    """Scroll every scroll area that holds ``widget`` to it (Qt does it when the focus moves
    inside the area, not when it arrives from outside it)."""
    parent = widget.parentWidget()
    while parent is not None:
        area = parent.parentWidget()
        if isinstance(area, QScrollArea) and parent is area.viewport():
            area.ensureWidgetVisible(widget)
        parent = parent.parentWidget()

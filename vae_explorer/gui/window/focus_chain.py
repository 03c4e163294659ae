"""Tab and Shift+Tab over what the user can see and use.

Qt's focus chain runs through every control of the window, including those of dock tabs
behind another (Qt keeps a covered dock "visible"): Tab went through some 30 controls that
could not be seen before it came back to the screen. It also stopped on the scroll areas
that hold a panel, on the plots and on a tab bar's scroll arrows, which do nothing with
the keyboard (the bar itself takes the arrow keys) and show no focus. The latent scatter,
which has keys of its own, is a stop.
:func:`move_focus` skips all of these; a control scrolled out of its panel stays a stop
(its scroll area is scrolled to it). Qt's chain follows the order the widgets were made
in (the docks before the scatter): :func:`order_by_reading` puts it in the order the window
reads, left to right, then the docks under the scatter.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QScrollArea, QTabBar, QWidget

from ..on_screen import enclosing_dock, on_screen

MAX_STEPS = 500  # more than the window has stops: a safe end if nothing qualifies


def is_stop(widget: QWidget) -> bool:
    """Whether Tab should stop at ``widget``."""
    if isinstance(widget, QScrollArea) or (isinstance(widget, pg.GraphicsView) and not _keyed(widget)):
        return False
    if isinstance(widget.parentWidget(), QTabBar):  # its scroll arrows: the bar takes the keys
        return False
    dock = enclosing_dock(widget)
    return on_screen(dock if dock is not None else widget)


def _keyed(widget: QWidget) -> bool:
    """A plot that takes keys of its own (the latent scatter: scatter/keys.py)."""
    return widget.focusPolicy() == Qt.FocusPolicy.StrongFocus and bool(widget.actions())


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


def order_by_reading(window: QMainWindow, docks: list[QDockWidget]) -> None:
    """Tab order: the left docks, the central widget (the scatter and its tools), the right
    docks, the bottom docks, then the rest (menus, tab bars), each keeping Qt's order within
    it. Widgets made later join the end of the chain, as Qt puts them."""
    area = window.dockWidgetArea
    sides = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
    left = [d for d in docks if area(d) == sides[0]]
    right = [d for d in docks if area(d) == sides[1]]
    others = [d for d in docks if d not in left and d not in right]
    central = window.centralWidget()
    roots: list[QWidget] = [*left, *([central] if central is not None else []), *right, *others]
    groups: list[list[QWidget]] = [[] for _ in range(len(roots) + 1)]
    for widget in _chain(window):
        groups[_root_index(widget, roots)].append(widget)
    ordered = [w for group in groups for w in group]
    for first, second in zip(ordered, ordered[1:], strict=False):
        QWidget.setTabOrder(first, second)


def _chain(window: QWidget) -> list[QWidget]:
    """The window's Tab stops (those that take the focus by Tab, no proxies) in the order
    of its widget tree: the order they were made and laid out in, as Qt's own chain.

    Not by walking Qt's chain: PySide makes the widget ``nextInFocusChain()`` returns a
    child of the widget it was asked of (its return-value heuristic), so every wrapper
    became the owner of the next one's; a row of traversal sliders deleted later took the
    wrappers after it with it (the status bar, the scatter's pickers: "Internal C++ object
    already deleted" at a run's end). ``findChildren`` links nothing."""
    found: list[QWidget] = []
    for widget in window.findChildren(QWidget):
        takes_tab = widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        if takes_tab and widget.focusProxy() is None and widget.window() is window:
            found.append(widget)
    # A compound widget's parts (a spin box's line edit) move with it: setTabOrder keeps
    # them together, and ordering them apart would cut the chain into loops.
    listed = set(found)
    return [w for w in found if not _has_ancestor_in(w, listed)]


def _has_ancestor_in(widget: QWidget, widgets: set[QWidget]) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if parent in widgets:
            return True
        parent = parent.parentWidget()
    return False


def _root_index(widget: QWidget, roots: list[QWidget]) -> int:
    """Which of ``roots`` holds ``widget`` (len(roots): none)."""
    for i, root in enumerate(roots):
        if root is widget or root.isAncestorOf(widget):
            return i
    return len(roots)

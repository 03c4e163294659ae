"""The window's docks: how each is made, a panel in a scroll area for a short dock, and a
boundary that keeps a busy panel's relayouts inside its dock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractButton, QDockWidget, QMainWindow, QScrollArea, QWidget

from .first_screen import LoadingPanel
from .focus_chain import move_focus

if TYPE_CHECKING:
    from .main_window import MainWindow


# The window's docks, by their MainWindow attribute names (window.docks).
DOCK_ATTRIBUTES = (
    "training_dock", "preview_dock", "grid_dock", "samples_dock", "canvas_dock", "posterior_dock",
    "analogy_dock", "walk_dock", "traversal_dock", "active_units_dock", "timeline_dock",
)  # fmt: skip


class Dock(QDockWidget):
    """A dock whose Tab, while it floats (a window of its own), goes round what can be seen
    as the main window's does (focus_chain.py); docked, the main window's Tab serves it."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt override
        if self.isFloating():
            return move_focus(super().focusNextPrevChild, next)
        return super().focusNextPrevChild(next)


def add_dock(
    window: QMainWindow, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    """A movable, floatable, closable dock named ``name`` (the saved layout's key)."""
    dock = Dock(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    window.addDockWidget(area, dock)
    name_title_buttons(dock, title)
    return dock


# Qt's own object names for a dock's title-bar buttons (they come without tooltips).
TITLE_BUTTON_TIPS = {
    "qt_dockwidget_floatbutton": (
        "Float “{}” as a window of its own, or dock it back (or double-click the title)"
    ),
    "qt_dockwidget_closebutton": "Close “{}” (the View menu brings it back)",
}


def name_title_buttons(dock: QDockWidget, title: str) -> None:
    """Tooltips for the float and close buttons of ``dock``'s title bar."""
    for button in dock.findChildren(QAbstractButton):
        tip = TITLE_BUTTON_TIPS.get(button.objectName())
        if tip is not None:
            button.setToolTip(tip.format(title))


SHORT_WINDOW = 800  # pixels of window height below which the preview dock starts smaller
NARROW_WINDOW = 1200  # pixels of window width below which the side docks start narrower


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area, so its dock can be narrower than it."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


class LayoutBoundary(QWidget):
    """Holds a panel whose texts change at every click or drag (the decoder preview's
    coordinates, its picked pair's caption) so that such a change relayouts the panel alone.

    Placed straight in its dock, each change (a word-wrapped label's new text) went up to
    the main window, which recomputed every dock's size, title buttons and all: ~940 style
    look-ups and 4-8 ms of a click's ~10 on a 2-core Zen 4. Qt passes a relayout upwards
    whether or not the panel's size hints changed; this boundary, which holds the panel
    outside any layout, passes it on only when the panel needs more room than it has. It
    fills itself with the panel and reports the panel's own hints, so the dock sizes it as
    it sized the panel."""

    def __init__(self, panel: QWidget) -> None:
        super().__init__()
        self.panel = panel
        panel.setParent(self)
        self.setSizePolicy(panel.sizePolicy())
        self._hfw = panel.hasHeightForWidth()

    def _needs_more_room(self) -> bool:
        """Whether the panel's least size no longer fits the room it has (a new caption a few
        pixels wider or narrower does not count: the dock's size stays as it is)."""
        least = self.panel.minimumSizeHint()
        grown = least.width() > self.width() or least.height() > self.height()
        return grown or self.panel.hasHeightForWidth() != self._hfw

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and self._needs_more_room():  # (the panel relaid out)
            self._hfw = self.panel.hasHeightForWidth()
            self.updateGeometry()
            # Painted afresh once the window has relaid out: otherwise the dock separator's
            # dots stayed at their old place, over the panel (Xvfb, Qt 6.11).
            QTimer.singleShot(0, self.update)
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self.panel.setGeometry(self.rect())
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.panel.sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.panel.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return self.panel.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self.panel.heightForWidth(width)


def default_dock_sizes(window: MainWindow) -> None:
    """The first start's dock sizes (after the default layout, or View > Reset layout)."""
    horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    # In a narrow window the side docks start at about their least (the training form's
    # width; the right one's tab titles, whole): at 1024 px their 730 px left the scatter,
    # the main view, 300 px, most of it axes.
    narrow = window.width() < NARROW_WINDOW
    window.resizeDocks([window.training_dock], [330 if narrow else 360], horizontal)
    window.resizeDocks([window.preview_dock], [355 if narrow else 370], horizontal)
    # In a short window the preview gives up room to the dock under it (the Canvas there
    # needs ~450 px for Impute to show without scrolling at 1024 x 700).
    preview = 300 if window.height() >= SHORT_WINDOW else 200
    window.resizeDocks([window.preview_dock, window.grid_dock], [preview, 780 - preview], vertical)
    # The bottom group is a strip under the scatter, not half the window.
    window.resizeDocks([window.timeline_dock], [170], vertical)


def build_docks(window: MainWindow) -> QByteArray:
    """The docks, holding "loading" panels until the views exist (views.py fills them);
    returns the default layout (View > Reset layout goes back to it)."""
    left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    loading = LoadingPanel()
    loading.setMinimumWidth(330)  # as wide as the training form that replaces it
    window.training_dock = add_dock(window, "Training", "training_dock", loading, left)
    window.preview_dock = add_dock(window, "Decoder preview", "preview_dock", LoadingPanel(), right)
    window.grid_dock = add_dock(window, "Latent grid", "grid_dock", LoadingPanel(), right)
    window.samples_dock = add_dock(window, "Samples", "samples_dock", LoadingPanel(), right)
    window.tabifyDockWidget(window.grid_dock, window.samples_dock)
    window.canvas_dock = add_dock(window, "Canvas", "canvas_dock", LoadingPanel(), right)
    window.tabifyDockWidget(window.samples_dock, window.canvas_dock)
    window.posterior_dock = add_dock(window, "Posterior", "posterior_dock", LoadingPanel(), right)
    window.tabifyDockWidget(window.canvas_dock, window.posterior_dock)
    window.analogy_dock = add_dock(window, "Analogy", "analogy_dock", LoadingPanel(), right)
    window.tabifyDockWidget(window.posterior_dock, window.analogy_dock)
    # Beyond the first look (explorer_docks.py): under the scatter only, so the side
    # docks keep their full height: the timeline, walks, traversals, active units.
    window.setCorner(Qt.Corner.BottomLeftCorner, left)
    window.setCorner(Qt.Corner.BottomRightCorner, right)
    bottom = Qt.DockWidgetArea.BottomDockWidgetArea
    window.timeline_dock = add_dock(window, "Timeline", "timeline_dock", QWidget(), bottom)
    window.walk_dock = add_dock(window, "Walk", "walk_dock", LoadingPanel(), bottom)
    window.traversal_dock = add_dock(window, "Traversal", "traversal_dock", LoadingPanel(), bottom)
    window.active_units_dock = add_dock(window, "Active units", "active_units_dock", LoadingPanel(), bottom)
    for dock in (window.walk_dock, window.traversal_dock, window.active_units_dock):
        window.tabifyDockWidget(window.timeline_dock, dock)
    window.timeline_dock.raise_()
    window.after_layout_change()  # Qt makes the tab bars on layout
    for dock in window.docks:
        dock.dockLocationChanged.connect(lambda _area: window.after_layout_change())
    window.grid_dock.raise_()
    default_layout = window.saveState()
    default_dock_sizes(window)
    return default_layout

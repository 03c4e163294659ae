"""The window's docks: how each is made, and a panel in a scroll area for a short dock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow


# The window's docks, by their MainWindow attribute names (window.docks).
DOCK_ATTRIBUTES = (
    "training_dock", "preview_dock", "grid_dock", "samples_dock", "canvas_dock", "posterior_dock",
    "analogy_dock", "walk_dock", "traversal_dock", "active_units_dock", "timeline_dock",
)  # fmt: skip


def add_dock(
    window: QMainWindow, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    """A movable, floatable, closable dock named ``name`` (the saved layout's key)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    window.addDockWidget(area, dock)
    return dock


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area, so its dock can be narrower than it."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


def default_dock_sizes(window: MainWindow) -> None:
    """The first start's dock sizes (after the default layout, or View > Reset layout)."""
    horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.resizeDocks([window.training_dock], [360], horizontal)
    window.resizeDocks([window.preview_dock], [370], horizontal)
    window.resizeDocks([window.preview_dock, window.grid_dock], [300, 480], vertical)
    # The bottom group is a strip under the scatter, not half the window.
    window.resizeDocks([window.timeline_dock], [170], vertical)

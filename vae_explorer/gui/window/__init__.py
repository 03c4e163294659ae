"""The main window: docks, menus, status bar and the wiring of views to the state."""

from .main_window import MainWindow

__all__ = ["MainWindow"]

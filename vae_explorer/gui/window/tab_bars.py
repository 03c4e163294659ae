"""The dock tab bars: whole titles, and none of the stale bars Qt leaves behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

if TYPE_CHECKING:
    from .main_window import MainWindow


def whole_tab_titles(window: MainWindow) -> None:
    """A crowded tab bar scrolls instead of eliding its titles to "L…"; and the stale bars
    that QMainWindow.restoreState leaves on screen (Qt 6.11: a copy of an older bar, drawn
    away from its docks) are hidden."""
    titles = {dock.windowTitle(): dock for dock in window.docks}
    for bar in window.findChildren(QTabBar):
        if not bar.isVisible() or bar.count() == 0:
            continue
        dock = titles.get(bar.tabText(bar.currentIndex()))
        away = dock is not None and abs(bar.geometry().top() - dock.geometry().bottom()) > 8
        if away and dock is not None and dock.isVisible():
            bar.hide()
            continue
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)

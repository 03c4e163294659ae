"""The dock tab bars: whole titles, and none of the stale bars Qt leaves behind; Tab's
order after every layout change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QTabBar

from .focus_chain import order_by_reading

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


class LayoutTidying(QObject):
    """After a layout change (restoreState, a dock moved, the views built), once Qt has laid
    it out (which makes the docks' tab bars): whole tab titles, and Tab's order as the
    window now reads (a dock moved to the other side is visited there)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._timer = QTimer(self, singleShot=True, interval=0)  # (coalesces a layout's many moves)
        self._timer.timeout.connect(self._tidy)

    def request(self) -> None:
        self._timer.start()

    def _tidy(self) -> None:
        window = self.window
        if window.closing:
            return
        whole_tab_titles(window)
        if window.views_ready:
            order_by_reading(window, window.docks)

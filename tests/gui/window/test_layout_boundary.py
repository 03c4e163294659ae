"""The decoder preview's relayouts stay in its dock (docks.LayoutBoundary): a click that
only changes its texts does not relayout the main window, while a panel whose minimum size
grows still gets the room."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget

from vae_explorer.gui.window.docks import LayoutBoundary, add_dock


class _LayoutRequests(QObject):
    """Counts the relayouts posted to one widget."""

    def __init__(self, watched: QWidget) -> None:
        super().__init__()
        self.count = 0
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_picking_points_relayouts_the_preview_not_the_window(window):
    boundary = window.preview_dock.widget()
    assert isinstance(boundary, LayoutBoundary) and boundary.panel is window.preview
    # Room to spare (at its very least a dock grows, rightly, for a caption's second line).
    window.resizeDocks([window.preview_dock], [500], Qt.Orientation.Vertical)
    state = window.state
    state.set_picked_index(0)  # the pair's headings appear: the panel's minimum grows once
    QApplication.processEvents()
    requests = _LayoutRequests(window)
    captions = set()
    for index in range(1, 8):
        state.set_picked_index(index)
        QApplication.processEvents()
        captions.add(window.preview.selected.text())
    assert len(captions) == 7  # each pick changed the caption (and the pair)...
    assert requests.count == 0  # ...and none reached the main window's layout


def test_a_grown_minimum_gets_its_room_and_the_panel_fills_the_dock(qtbot):
    main = QMainWindow()
    qtbot.addWidget(main)
    main.setCentralWidget(QLabel("centre"))
    panel = QWidget()
    tall = QLabel("grows")
    QVBoxLayout(panel).addWidget(tall)
    dock = add_dock(main, "Panel", "panel_dock", LayoutBoundary(panel), Qt.DockWidgetArea.RightDockWidgetArea)
    main.resize(600, 400)
    main.show()
    qtbot.waitExposed(main)
    QApplication.processEvents()
    tall.setMinimumHeight(300)  # the panel now needs more than its dock's share
    qtbot.waitUntil(lambda: panel.height() >= 300, timeout=3000)
    assert dock.widget().height() >= 300
    assert panel.size() == dock.widget().size()

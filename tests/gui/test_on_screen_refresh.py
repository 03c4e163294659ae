"""on_screen / RefreshWhenShown: a dock in a tab behind another does no work until raised."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from vae_explorer.gui.on_screen import RefreshWhenShown, on_screen


def _panel(text: str) -> QWidget:
    panel = QWidget()
    lay = QVBoxLayout(panel)
    lay.addWidget(QLabel(text))  # a container its child covers, as the app's panels are
    return panel


def _two_tabs(qtbot):
    window = QMainWindow()
    window.setCentralWidget(QLabel("centre"))
    front, back = _panel("front"), _panel("back")
    docks = []
    for name, panel in (("front", front), ("back", back)):
        dock = QDockWidget(name, window)
        dock.setObjectName(name)
        dock.setWidget(panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        docks.append(dock)
    window.tabifyDockWidget(docks[0], docks[1])
    window.resize(600, 400)
    qtbot.addWidget(window)
    window.show()
    docks[0].raise_()
    qtbot.waitExposed(window)
    qtbot.wait(20)
    return window, docks, front, back


def test_a_tab_behind_another_is_not_on_screen_though_qt_calls_it_visible(qtbot):
    _window, docks, front, back = _two_tabs(qtbot)
    assert back.isVisible()  # why isVisible() cannot be the test
    assert on_screen(front)
    assert not on_screen(back)
    docks[1].raise_()
    qtbot.wait(20)
    assert on_screen(back)
    assert not on_screen(front)


def test_requests_for_a_hidden_tab_run_once_when_it_is_raised(qtbot):
    _window, docks, front, back = _two_tabs(qtbot)
    runs = {"front": 0, "back": 0}
    front_gate = RefreshWhenShown(front, lambda: runs.__setitem__("front", runs["front"] + 1))
    back_gate = RefreshWhenShown(back, lambda: runs.__setitem__("back", runs["back"] + 1))
    for _ in range(5):
        front_gate.request()
        back_gate.request()
    assert runs == {"front": 5, "back": 0}
    assert back_gate.skipped == 5 and back_gate.pending
    docks[1].raise_()
    qtbot.waitUntil(lambda: runs["back"] == 1, timeout=2000)
    qtbot.wait(30)
    assert runs["back"] == 1  # once, not once per skipped request
    assert not back_gate.pending
    back_gate.request()  # on screen now: at once
    assert runs["back"] == 2


def test_a_cancelled_request_does_not_run_and_a_never_shown_view_waits(qtbot):
    _window, docks, _front, back = _two_tabs(qtbot)
    runs = []
    gate = RefreshWhenShown(back, lambda: runs.append(1))
    gate.request()
    gate.cancel()
    docks[1].raise_()
    qtbot.wait(50)
    assert runs == []
    alone = _panel("never shown")
    qtbot.addWidget(alone)
    lone_gate = RefreshWhenShown(alone, lambda: runs.append(2))
    lone_gate.request()
    assert runs == []
    alone.show()
    qtbot.waitUntil(lambda: runs == [2], timeout=2000)


def test_a_request_made_before_the_view_was_docked_runs_when_its_tab_is_raised(qtbot):
    """The window builds its views, then puts them into docks: a request in between (the
    first model arriving) must still run when the view's tab comes up (the traversal
    image stayed blank until the next model)."""
    window = QMainWindow()
    window.setCentralWidget(QLabel("centre"))
    front, back = _panel("front"), _panel("back")
    runs = []
    gate = RefreshWhenShown(back, lambda: runs.append(1))
    gate.request()  # not in a dock yet
    docks = []
    for name, panel in (("front", front), ("back", back)):
        dock = QDockWidget(name, window)
        dock.setWidget(panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        docks.append(dock)
    window.tabifyDockWidget(docks[0], docks[1])
    qtbot.addWidget(window)
    window.show()
    docks[0].raise_()
    qtbot.waitExposed(window)
    qtbot.wait(30)
    assert runs == [] and gate.pending  # behind the other tab
    docks[1].raise_()
    qtbot.waitUntil(lambda: runs == [1], timeout=2000)
    assert not gate.pending

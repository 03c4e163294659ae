"""own_turn.py: queued work runs one item per event-loop turn, once, and never for a
deleted owner."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from vae_explorer.gui.own_turn import in_own_turn, waiting


def test_each_item_runs_in_a_turn_of_its_own(qtbot):
    owner = QObject()
    log: list[str] = []

    def first() -> None:
        log.append("first")
        QTimer.singleShot(0, lambda: log.append("between"))  # an event that came meanwhile

    in_own_turn(owner, first)
    in_own_turn(owner, lambda: log.append("second"))
    assert log == []  # nothing runs at once
    qtbot.waitUntil(lambda: "second" in log, timeout=2_000)
    assert log == ["first", "between", "second"]


def test_work_asked_for_twice_runs_once_and_a_deleted_owner_is_skipped(qtbot):
    log: list[str] = []

    class View(QObject):
        def draw(self) -> None:
            log.append("draw")

    view, gone = View(), View()
    in_own_turn(view, view.draw)
    in_own_turn(view, view.draw)
    in_own_turn(gone, gone.draw)
    gone.deleteLater()
    qtbot.wait(20)  # the deletion happens, then every turn
    qtbot.waitUntil(lambda: waiting() == 0, timeout=2_000)
    assert log == ["draw"]


def test_an_error_in_one_item_does_not_stop_the_rest(qtbot, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "excepthook", lambda *a: None)  # the app's hook reports it
    owner = QObject()
    log: list[str] = []

    def broken() -> None:
        raise RuntimeError("a bug in one view")

    in_own_turn(owner, broken)
    in_own_turn(owner, lambda: log.append("next"))
    qtbot.waitUntil(lambda: log == ["next"], timeout=2_000)


def test_forgotten_work_does_not_run(qtbot):
    from vae_explorer.gui.own_turn import forget

    log: list[str] = []
    shut, kept = QObject(), QObject()
    in_own_turn(shut, lambda: log.append("shut"))
    in_own_turn(kept, lambda: log.append("kept"))
    forget(shut)  # its view shut down
    qtbot.waitUntil(lambda: waiting() == 0, timeout=2_000)
    qtbot.wait(20)
    assert log == ["kept"]

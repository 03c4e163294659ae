"""Tab goes round the controls the user can see: not into dock tabs behind another (Qt
keeps those "visible"), not onto scroll areas, plots or a tab bar's arrows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

from vae_explorer.gui.on_screen import enclosing_dock
from vae_explorer.gui.window.focus_chain import is_stop


def tab_round(window, key=Qt.Key.Key_Tab, limit: int = 200, seen=None) -> list:
    start = window.training.start_button
    start.setFocus()
    QApplication.processEvents()
    stops = []
    for _ in range(limit):
        QTest.keyClick(QApplication.focusWidget(), key)
        widget = QApplication.focusWidget()
        if seen is not None:
            seen(widget)  # (as it is right after the key)
        if widget is start:
            return stops
        stops.append(widget)
    raise AssertionError(f"Tab never came back to Start: {[type(w).__name__ for w in stops[-10:]]}")


def test_tab_visits_only_what_can_be_seen_and_comes_back(window):
    stops = tab_round(window)
    assert all(is_stop(w) for w in stops), [type(w).__name__ for w in stops if not is_stop(w)]
    covered = [
        d for d in window.docks if d.isVisible() and not enclosing_dock(d) and d.visibleRegion().isEmpty()
    ]
    assert covered  # (the default layout has docks behind others)
    assert not [w for w in stops if enclosing_dock(w) in covered]
    assert window.training.form.epochs in stops and window.scatter.overlay_check in stops
    assert tab_round(window, Qt.Key.Key_Backtab)[::-1] == stops  # Shift+Tab: the same, backwards


def test_a_raised_tab_brings_its_controls_into_the_round(window, qtbot):
    samples = window.samples
    assert samples.new_button not in tab_round(window)
    window.samples_dock.raise_()
    qtbot.waitUntil(lambda: not window.samples_dock.visibleRegion().isEmpty(), timeout=2000)
    assert samples.new_button in tab_round(window)


def test_at_1024_by_700_every_stop_is_scrolled_into_view(window, qtbot):
    """A control of a scrolled dock got the focus while out of sight: the dock's scroll area
    did not follow a focus that came from outside it."""
    window.resize(1024, 668)
    qtbot.waitUntil(lambda: window.size().toTuple() == (1024, 668), timeout=3000)
    qtbot.wait(100)  # (the docks' scroll areas lay their panels out anew)
    hidden: list = []

    def note_hidden(widget) -> None:
        # (a plot, a scroll area: its viewport, a child covering it, is what shows)
        shown = widget.viewport() if isinstance(widget, QAbstractScrollArea) else widget
        if shown.visibleRegion().isEmpty():
            hidden.append(widget)

    for key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        tab_round(window, key, seen=note_hidden)
    assert not hidden, [type(w).__name__ for w in hidden]


@pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")  # (offscreen windows)
def test_tab_in_a_floating_dock_skips_its_scroll_area(window, qtbot):
    """A floating dock is a window of its own: Tab there never reached the main window's
    rule and stopped on the dock's scroll area, which shows no focus."""
    from PySide6.QtWidgets import QScrollArea

    dock = window.training_dock
    dock.setFloating(True)
    dock.show()
    qtbot.waitExposed(dock)
    start = window.training.start_button
    start.setFocus()
    QApplication.processEvents()
    stops = []
    for _ in range(60):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        stops.append(widget)
        if widget is start:
            break
    assert not [w for w in stops if isinstance(w, QScrollArea)], [type(w).__name__ for w in stops]
    assert window.training.form.epochs in stops
    dock.setFloating(False)


def test_tab_reads_the_window_left_to_right_then_the_docks_below(window, qtbot):
    """Qt's chain followed the order widgets were made in: Tab went from the training dock
    to the right-hand docks and the timeline before it reached the scatter's own tools."""
    from PySide6.QtWidgets import QTabBar

    qtbot.waitUntil(lambda: tab_round(window)[0] is window.training.smooth_check, timeout=3000)
    stops = tab_round(window)

    def place(widget) -> int:
        dock = enclosing_dock(widget)
        if dock is window.training_dock:
            return 0
        if dock is None and window.centralWidget().isAncestorOf(widget):
            return 1
        if dock is not None and window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea:
            return 2
        if dock is not None:
            return 3
        return 4 if isinstance(widget, QTabBar) else 5

    places = [place(w) for w in stops]
    # From Start: the rest of the training dock, the scatter, the right docks, the bottom
    # docks, the docks' tab bars, then round to the training dock's first controls.
    assert {0, 1, 2} <= set(places)
    while places[-1] == 0:  # the training dock's controls before Start, after the wrap
        places.pop()
    assert places == sorted(places), places
    assert window.scatter.overlay_check in stops


def test_tab_stops_at_the_scatter_whose_keys_the_shortcuts_page_lists(window):
    """The plots were left out of the round; the scatter has keys of its own now."""
    import pyqtgraph as pg

    from vae_explorer.gui.window.help import shortcut_rows

    stops = tab_round(window)
    # the scatter's plot only: the curves' and the other docks' plots have no keys
    assert [w for w in stops if isinstance(w, pg.GraphicsView)] == [window.scatter.plot]
    rows = [r for r in shortcut_rows(window) if r[0] == "Latent scatter"]
    keys = {what: how for _, what, how in rows}
    assert "Right" in keys["Move the crosshair right (Shift: farther)"]
    assert (
        "Shift+F10" in keys["Menu for the crosshair's point"]
        and "Return" in keys["Pick the test point nearest the crosshair"]
    )


def test_runs_of_other_models_leave_the_status_bar_and_the_tool_row_alive(window, qtbot):
    """The sequence a tour met it in: a labelled run, then a 10-d VAE run. At the second
    run's end an error dialog ("QStatusBar already deleted"), and the scatter's x/y pickers
    were gone until a restart."""
    import gc

    import shiboken6
    from window_helpers import LEFT, small_run

    status, row = window.statusBar(), list(window.scatter.bar.widgets())
    pickers = (window.scatter.x_dim, window.scatter.y_dim)
    training = window.training
    for kind, latent in (("m2", 2), ("vae", 10)):
        small_run(window, epochs=1)
        training.kind.setCurrentIndex(training.kind.findData(kind))
        training.latent_dim.setValue(latent)
        qtbot.mouseClick(training.start_button, LEFT)
        qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=120_000)
        gc.collect()
        QApplication.processEvents()
    assert window.last_error is None, window.last_error
    assert all(map(shiboken6.isValid, (status, *row, *pickers)))
    assert status.currentMessage().startswith("Training finished")
    assert window.scatter.bar.widgets() == row and all(p.isVisibleTo(window) for p in pickers)


def test_a_dock_moved_to_the_left_is_visited_before_the_scatter(window, qtbot):
    """Tab's order follows a dock moved later (it kept its first place in the round)."""
    window.grid_dock.raise_()
    qtbot.waitUntil(window.grid.isVisible, timeout=3000)
    stops = tab_round(window)
    in_grid = [w for w in stops if enclosing_dock(w) is window.grid_dock]
    assert in_grid and stops.index(in_grid[0]) > stops.index(window.scatter.overlay_check)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.grid_dock)
    window.grid_dock.raise_()
    qtbot.waitUntil(window.grid.isVisible, timeout=3000)

    def grid_first() -> bool:
        stops = tab_round(window)
        in_grid = [w for w in stops if enclosing_dock(w) is window.grid_dock]
        return bool(in_grid) and stops.index(in_grid[0]) < stops.index(window.scatter.overlay_check)

    qtbot.waitUntil(grid_first, timeout=3000)

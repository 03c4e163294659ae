"""The column beside the scatter always shows the whole legend and the key under it: the
legend is as tall as its rows (it never grows by itself), and a short plot packs it
tighter, never cuts it. The mouse hint never makes the tool row wrap or the plot move."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QApplication

KEY = "◆ the 100 labelled training examples"
LONG_KEY = "○ 1,078 of 10,000 misclassified (10.8%), in their true class's colour; grey: right"


def settle(qtbot, view, width: int, height: int) -> None:
    view.resize(width, height)
    qtbot.waitUntil(lambda: (view.width(), view.height()) == (width, height), timeout=2000)
    for _ in range(3):
        QApplication.processEvents()


def on_screen(view) -> QRectF:
    """The part of the scene the plot widget shows."""
    return QRectF(view.plot.mapToScene(view.plot.viewport().rect()).boundingRect())


def natural_height(legend) -> float:
    return legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize).height()


def assert_all_shown(view) -> None:
    shown, legend, note = on_screen(view), view.legend, view.marks_note
    for label in range(len(legend.items)):
        row = legend.mapRectToScene(legend.row_rect(label))
        assert shown.contains(row), f"legend row {label} is cut off"
    if note.isVisible():
        assert shown.contains(note.sceneBoundingRect()), "the key under the legend is cut off"
    assert legend.height() == pytest.approx(natural_height(legend), abs=1.0)  # not stretched


def test_the_legend_is_as_tall_as_its_rows_and_stays_so(qtbot, view):
    legend = view.legend
    assert len(legend.items) == 10
    assert legend.height() == pytest.approx(natural_height(legend), abs=1.0)
    for text in (KEY, "", LONG_KEY, KEY):  # the key under it comes and goes, changes
        view.colour_by.marks.summaryChanged.emit(text)
        for size in ((700, 560), (700, 430), (700, 560)):
            settle(qtbot, view, *size)
            assert legend.height() == pytest.approx(natural_height(legend), abs=1.0)
    rows = [legend.row_rect(i) for i in range(10)]
    assert max(r.height() for r in rows) < 26  # rows of text, not spread over the plot


@pytest.mark.parametrize("height", [560, 430, 380, 340])
@pytest.mark.parametrize("key", [KEY, LONG_KEY], ids=["labelled", "misclassified"])
def test_the_whole_legend_and_its_key_are_shown_in_a_short_plot(qtbot, view, height, key):
    settle(qtbot, view, 700, height)
    view.colour_by.marks.summaryChanged.emit(key)
    settle(qtbot, view, 700, height)
    assert_all_shown(view)
    settle(qtbot, view, 700, 560)  # and back: as comfortable as before
    assert_all_shown(view)
    assert view.legend.packing() == (1, False)


def test_the_legend_still_toggles_classes_when_packed(qtbot, view):
    settle(qtbot, view, 700, 340)
    view.colour_by.marks.summaryChanged.emit(LONG_KEY)
    settle(qtbot, view, 700, 340)
    legend = view.legend
    assert legend.packing() != (1, False)
    with qtbot.waitSignal(legend.classToggled, timeout=1000) as signal:
        legend.set_class_visible(7, False)
    assert signal.args == [7, False] and not view.cloud.class_visible(7)


def longest_fitting(hint) -> str:
    from vae_explorer.gui.scatter.hint import HINTS

    metrics = hint.fontMetrics()
    return next((h for h in HINTS if metrics.horizontalAdvance(h) <= hint.width()), "")


def line_tops(view) -> set[int]:
    """The tops of the tool row's lines in the view (its widgets, the hint not among them)."""
    return {in_view(view, w).top() for w in view.bar.shown()}


def in_view(view, widget):
    """``widget``'s rectangle in the view's coordinates."""
    return widget.geometry().translated(
        widget.parentWidget().mapTo(view, widget.parentWidget().rect().topLeft())
    )


@pytest.mark.parametrize("width", [520, 600, 640, 700, 760, 820, 900, 1100])
def test_the_hint_never_wraps_the_tool_row_nor_moves_the_plot(qtbot, view, width):
    settle(qtbot, view, width, 560)
    plot, hint, text = view.plot.geometry(), view.hint, view.hint.text()
    assert text == longest_fitting(hint)  # its wording follows its width alone
    assert in_view(view, hint).bottom() < plot.top()
    # On the last line of the row (not on a line of its own), within the view.
    last = max(line_tops(view))
    assert in_view(view, hint).top() <= last + 8 and in_view(view, hint).right() < view.width()
    # A colouring job's progress bar comes and goes (it did push the hint onto a second
    # line, where it took the whole width and a longer wording, and stayed there).
    progress = view.colour_by.progress
    progress.setVisible(True)
    QApplication.processEvents()
    progress.setVisible(False)
    QApplication.processEvents()
    QApplication.processEvents()
    assert view.plot.geometry() == plot
    assert view.hint.text() == text


def test_a_colour_change_keeps_the_hint_and_the_plot_where_they_were(qtbot, view):
    settle(qtbot, view, 720, 560)
    plot, text = view.plot.geometry(), view.hint.text()
    combo = view.colour_by.combo
    combo.setCurrentIndex(combo.findData("kl"))
    qtbot.waitUntil(lambda: not view.colour_by.is_busy(), timeout=20000)
    QApplication.processEvents()
    combo.setCurrentIndex(combo.findData("class"))
    QApplication.processEvents()
    assert view.plot.geometry() == plot and view.hint.text() == text

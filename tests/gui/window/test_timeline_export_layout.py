"""The timeline's export progress never widens the window: on a 1024 x 700 screen, showing
"Exporting frame…" and Cancel beside the timeline's controls grew the window to ~1117 px
(the decoder and canvas docks off screen), and it stayed that wide after the export."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QApplication, QDockWidget, QSizePolicy
from test_window_layout import SMALL, TITLE_BAR, laid_out_at, shown_whole

from vae_explorer.gui.window import animation_export


def dock_geometries(window) -> dict[str, tuple[int, int, int, int]]:
    """Where the docks on show lie (a tab hidden behind another is parked off screen)."""
    docks = window.findChildren(QDockWidget)
    return {d.objectName(): d.geometry().getRect() for d in docks if d.isVisible() and d.x() >= 0}


def settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


@pytest.mark.parametrize("size", [(SMALL[0], SMALL[1] - TITLE_BAR), (1400, 900 - TITLE_BAR)])
def test_exporting_keeps_the_window_and_the_timeline_dock_their_size(
    window, qtbot, monkeypatch, tmp_path, size
):
    gate = threading.Event()

    def slow_write(history, labels, path, fps=8):  # the real exporter runs it in its Worker
        yield 1, 1234
        gate.wait(20)
        yield 1234, 1234

    monkeypatch.setattr(animation_export, "write_animation", slow_write)
    laid_out_at(window, qtbot, *size)
    dock, timeline, exporter = window.timeline_dock, window.timeline, window.animation_exporter
    dock_min, window_min = dock.minimumSizeHint().width(), window.minimumSizeHint().width()
    docks = dock_geometries(window)
    try:
        assert exporter.start(None, None, tmp_path / "run.gif")
        qtbot.waitUntil(timeline.progress.isVisible, timeout=5000)
        settle()
        assert window.size().toTuple() == size
        assert dock.minimumSizeHint().width() <= dock_min
        assert window.minimumSizeHint().width() <= window_min
        assert dock_geometries(window) == docks  # (no splitter moved)
        assert shown_whole(timeline.cancel_button) and shown_whole(timeline.progress)
        bar = timeline.progress
        assert bar.text() and bar.fontMetrics().horizontalAdvance(bar.text()) <= bar.width()
        assert "…" not in bar.text()  # room enough for its count (not "8…")
        assert bar.toolTip() == "Exporting frame 1 of 1234"
    finally:
        with qtbot.waitSignal(exporter.finished, timeout=10_000):
            gate.set()
    settle()
    assert not timeline.progress.isVisible() and shown_whole(timeline.export_button)
    assert window.size().toTuple() == size
    assert dock.minimumSizeHint().width() == dock_min
    assert window.minimumSizeHint().width() == window_min
    # Back as they were: the progress and the idle row, on show together for a moment,
    # moved the docks' splitters (the right column squeezed for good).
    assert dock_geometries(window) == docks


def test_the_progress_text_shortens_to_fit_instead_of_wrapping(qtbot):
    from vae_explorer.gui.panels.timeline import ExportProgressBar

    bar = ExportProgressBar()
    qtbot.addWidget(bar)
    bar.setRange(0, 1234)
    bar.setValue(56)
    metrics = bar.fontMetrics()
    texts = []
    fit = [metrics.horizontalAdvance(t) + 8 for t in ("Frame 56 of 1234", "56 / 1234")]
    for width in (400, *fit, 30):
        bar.resize(width, 22)
        texts.append(bar.text())
        assert metrics.horizontalAdvance(bar.text()) <= width
    assert texts[:2] == ["Exporting frame 56 of 1234", "Frame 56 of 1234"]
    assert texts[2] == "56 / 1234" and texts[3].endswith("…")
    # Its width is the row's to give: it asks for none (so showing it widens nothing).
    assert bar.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored

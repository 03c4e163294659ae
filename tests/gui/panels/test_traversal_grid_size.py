"""A 10-d model's traversal grid is readable in the window: at 1400 x 900 each digit was
drawn about 8 px across (ten rows squeezed into the dock's height beside the sliders)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from vae_explorer.core.image import IMAGE_SIDE
from vae_explorer.gui.panels.traversal import GRID_VALUES

MIN_TILE_PX = 20  # a digit drawn smaller than this cannot be read


def _grid_on(window, qtbot, width: int, height: int):
    from vae_explorer.core.data import PROJECT_ROOT

    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size().toTuple() == (width, height), timeout=3000)
    window.reset_layout()
    assert window.open_model(PROJECT_ROOT / "trained" / "mnist-bernoulli-z10.safetensors")
    window.traversal_dock.show()
    window.traversal_dock.raise_()
    QApplication.processEvents()
    panel = window.traversal
    qtbot.waitUntil(panel.grid_button.isVisible, timeout=3000)
    qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.grid is not None and panel.grid_canvas.isVisible(), timeout=5000)
    QApplication.processEvents()
    return panel


def _tile_px(panel) -> tuple[float, float]:
    """How large one digit of the grid is drawn (width, height in screen pixels)."""
    rows, cols = panel.grid.shape[:2]
    r = panel.grid_canvas.target_rect()
    cell = IMAGE_SIDE / (IMAGE_SIDE + 2)  # (each cell is a digit and a 2-px gap)
    return r.width() / cols * cell, r.height() / rows * cell


def test_a_10_d_grid_draws_each_digit_readably_at_1400_by_900(make_window, small_checkpoint, qtbot):
    window = make_window(small_checkpoint)
    panel = _grid_on(window, qtbot, 1400, 900)
    assert panel.grid.shape[:2] == (10, GRID_VALUES)
    w, h = _tile_px(panel)
    assert w >= MIN_TILE_PX and h >= MIN_TILE_PX, (w, h)
    # On screen: at least a whole row of digits is in sight (what does not fit scrolls).
    seen = panel.grid_canvas.visibleRegion().boundingRect()
    assert seen.height() >= h and seen.width() >= GRID_VALUES * w, (seen, w, h)
    # The rows are named; beside the grid the sliders stay in reach.
    assert panel.grid_view.row_labels.names[:2] == ["z[0]", "z[1]"]
    assert panel.sliders[0].isVisible() and panel.sliders[0].width() >= 60


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_the_grid_still_shows_at_1024_by_700(make_window, small_checkpoint, qtbot):
    window = make_window(small_checkpoint)
    panel = _grid_on(window, qtbot, 1024, 700)
    w, h = _tile_px(panel)
    assert w >= MIN_TILE_PX and h >= MIN_TILE_PX, (w, h)
    seen = panel.grid_canvas.visibleRegion().boundingRect()
    assert seen.height() >= h and seen.width() >= 5 * w, (seen, w, h)
    # (The dock is too narrow for both: the grid has the sliders' place until it is off.)
    qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)
    assert panel.sliders[0].isVisible() and panel.canvas.isVisible() and not panel.grid_canvas.isVisible()

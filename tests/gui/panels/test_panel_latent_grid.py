"""The latent grid dock alone: its widgets set the state's grid, the state redraws it, a
real click on a tile makes that tile's code the current z, and the grid is decoded once."""

from __future__ import annotations

import numpy as np
import pytest
from panel_helpers import decode, image_point
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from vae_explorer.gui.panels.latent_grid import REGION_VISIBLE


@pytest.fixture
def grid(qtbot, state):
    from vae_explorer.gui.panels import LatentGridPanel

    view = LatentGridPanel(state)
    qtbot.addWidget(view)
    view.resize(360, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_grid_draws_the_states_decoded_grid(grid, state):
    n = state.grid_size
    shown = grid.canvas.image()
    assert shown.shape == (28 * n, 28 * n)
    np.testing.assert_array_equal(shown, state.decoded_grid().mosaic)
    z = grid.tile_latent(1, 2)
    np.testing.assert_allclose(shown[28:56, 56:84], decode(state.model, z)[0], atol=1e-6)
    assert grid.grid_size() == n and grid.mosaic is not None


def test_typing_a_size_and_picking_a_spacing_set_the_state(grid, state, qtbot):
    edit = grid.size_spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "9")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert state.grid_size == 9
    assert grid.canvas.image().shape == (28 * 9, 28 * 9)
    grid.region.setFocus()
    qtbot.keyClick(grid.region, Qt.Key.Key_Down)
    assert grid.region.currentText() == REGION_VISIBLE
    assert state.grid_spacing == "visible"
    np.testing.assert_array_equal(grid.canvas.image(), state.decoded_grid().mosaic)


def test_the_widgets_follow_the_state(grid, state):
    state.set_grid(size=7, spacing="visible")
    assert grid.size_spin.value() == 7 and grid.region.currentText() == REGION_VISIBLE
    assert grid.canvas.image().shape == (196, 196)
    before = grid.canvas.image().copy()
    state.set_dims(1, 0)
    assert not np.array_equal(grid.canvas.image(), before)
    np.testing.assert_array_equal(grid.canvas.image(), state.decoded_grid().mosaic)


def test_the_grid_follows_the_model(grid, state, make_model):
    other = make_model(5)
    state.set_model(other, {}, None)
    np.testing.assert_allclose(
        grid.canvas.image()[:28, :28], decode(other, grid.tile_latent(0, 0))[0], atol=1e-6
    )


def test_only_the_visible_spacing_follows_the_scatters_range(grid, state, qtbot, count_decodes):
    before = grid.canvas.image().copy()
    state.set_visible_range((-1, 1), (-1, 1))  # Gaussian spacing: nothing to redo (a
    # throttled redraw, if one were scheduled, would run its first call at once)
    np.testing.assert_array_equal(grid.canvas.image(), before)
    assert count_decodes == []
    state.set_grid(spacing="visible")
    state.set_visible_range((-0.5, 0.5), (2.0, 3.0))
    qtbot.waitUntil(lambda: np.array_equal(grid.canvas.image(), state.decoded_grid().mosaic), timeout=2000)
    xs, ys = grid.axes()
    assert xs[0] > -0.5 and xs[-1] < 0.5 and ys[0] > 2.0 and ys[-1] < 3.0
    r = grid.extent()  # the tiles cover the visible range exactly
    np.testing.assert_allclose([r.left(), r.right(), r.top(), r.bottom()], [-0.5, 0.5, 2.0, 3.0], atol=1e-6)


def test_the_overlay_reuses_the_grid_the_dock_decoded(grid, state, qtbot, count_decodes):
    """The scatter overlay asks the state for the same "visible" grid: no second decode."""
    state.set_grid(spacing="visible")
    state.set_visible_range((-2, 2), (-1, 3))
    qtbot.waitUntil(lambda: np.array_equal(grid.canvas.image(), state.decoded_grid().mosaic), timeout=2000)
    decodes = len(count_decodes)
    overlay = state.decoded_grid("visible")  # what the overlay does
    np.testing.assert_array_equal(overlay.mosaic, grid.canvas.image())
    assert len(count_decodes) == decodes and decodes >= 1


def test_a_click_on_a_wide_grid_picks_the_tile_under_the_mouse(grid, state, qtbot):
    """Over a range four times as wide as tall the grid has 4N x N square tiles."""
    state.set_grid(size=5, spacing="visible")
    state.set_visible_range((-2.0, 2.0), (0.0, 1.0))
    grid.refresh()
    g = state.decoded_grid()
    assert (g.rows, g.cols) == (5, 20) and grid.canvas.image().shape == (5 * 28, 20 * 28)
    row, col = 3, 12
    qtbot.mouseClick(
        grid.canvas,
        Qt.MouseButton.LeftButton,
        pos=image_point(grid.canvas, (col + 0.5) * 28, (row + 0.5) * 28),
    )
    np.testing.assert_array_equal(state.current_z, g.tile_latent(row, col))
    assert state.current_z[0] == pytest.approx(-2.0 + 0.2 * (col + 0.5))
    assert state.current_z[1] == pytest.approx(1.0 - 0.2 * (row + 0.5))


def test_a_click_on_a_tile_decodes_its_code_and_marks_it(grid, state, qtbot):
    n = state.grid_size
    row, col = 3, 10
    qtbot.mouseClick(
        grid.canvas,
        Qt.MouseButton.LeftButton,
        pos=image_point(grid.canvas, (col + 0.5) * 28, (row + 0.5) * 28),
    )
    g = state.decoded_grid()
    np.testing.assert_array_equal(state.current_z, g.tile_latent(row, col))
    assert g.rows == g.cols == n
    # What is drawn: the yellow outline on the tile's left edge, none on a far tile.
    image = grid.canvas.grab().toImage()
    ratio = image.devicePixelRatio()

    def colour_at(x: float, y: float) -> QColor:
        p = image_point(grid.canvas, x, y)
        return image.pixelColor(round(p.x() * ratio), round(p.y() * ratio))

    assert colour_at(col * 28, (row + 0.5) * 28).name() == "#ffeb3b"
    assert colour_at(2, (row + 0.5) * 28).name() != "#ffeb3b"


def test_a_new_size_clears_the_tile_mark(grid, state, qtbot):
    qtbot.mouseClick(grid.canvas, Qt.MouseButton.LeftButton, pos=image_point(grid.canvas, 14, 14))
    np.testing.assert_array_equal(state.current_z, state.decoded_grid().tile_latent(0, 0))
    state.set_grid(size=6)
    image = grid.canvas.grab().toImage()
    colours = {
        image.pixelColor(x, y).name() for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
    }
    assert "#ffeb3b" not in colours


def test_snapshots_while_training_are_drawn_at_most_every_250_ms(
    grid, state, qtbot, make_model, count_decodes
):
    models = [make_model(20 + i) for i in range(6)]
    for m in models:
        state.set_model(m, {}, None, live=True)
    assert len(count_decodes) <= 2  # the first at once, the rest wait for the throttle
    qtbot.waitUntil(
        lambda: np.allclose(
            grid.canvas.image()[:28, :28], decode(models[-1], grid.tile_latent(0, 0))[0], atol=1e-6
        ),
        timeout=2000,
    )
    assert len(count_decodes) <= 3

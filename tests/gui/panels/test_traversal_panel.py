"""The traversal panel alone: sliders start at the current z, moving one changes only that
coordinate and the decoded image; the grid is decoded from the current z; export writes it."""

from __future__ import annotations

import numpy as np
from panel_helpers import decode
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from vae_explorer.gui.panels.traversal import GRID_VALUES, MAX_DIMS, TraversalPanel


def test_sliders_start_at_the_current_z_and_move_one_coordinate(qtbot, state, make_model):
    panel = TraversalPanel(state)
    qtbot.addWidget(panel)
    panel.show()  # its image is decoded only while it is on screen
    qtbot.waitExposed(panel)
    state.set_model(make_model(2, latent_dim=4), {}, None)
    assert len(panel.sliders) == 4
    start = np.array([0.5, -0.3, 0.2, 0.1], np.float32)
    state.set_current_z(start)
    for d in range(4):  # the sliders show the clicked z (to a slider step)
        lo, hi = panel._span(d)
        step = (hi - lo) / 400
        assert abs(panel.slider_value(d) - start[d]) <= step
    before = panel.canvas.image().copy()

    panel.set_slider_value(2, 1.5)
    z = state.current_z
    assert abs(z[2] - 1.5) < 0.05
    np.testing.assert_array_equal(np.delete(z, 2), np.delete(start, 2))  # the others untouched
    np.testing.assert_allclose(panel.canvas.image(), decode(state.model, z)[0], atol=1e-6)
    assert not np.allclose(panel.canvas.image(), before, atol=1e-3)


def test_grid_rows_move_one_dimension_each(qtbot, state, make_model, tmp_path):
    panel = TraversalPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(5, latent_dim=3), {}, None)
    z = np.array([0.2, -0.1, 0.4], np.float32)
    state.set_current_z(z)
    grid = panel.make_grid()
    assert grid.shape == (3, GRID_VALUES, 28, 28)
    sigma = state.latents[0].astype(np.float64).std(axis=0)
    code = z.copy()
    code[1] = z[1] + 3.0 * sigma[1]  # row 1, last column: +3 sigma along z[1]
    np.testing.assert_allclose(grid[1, -1], decode(state.model, code)[0], atol=1e-5)
    middle = decode(state.model, z)[0]  # the centre column is z itself, in every row
    for row in range(3):
        np.testing.assert_allclose(grid[row, GRID_VALUES // 2], middle, atol=1e-5)
    out = panel.export_grid(tmp_path / "traversal.png")
    image = QImage(str(out))
    assert not image.isNull() and image.height() > 3 * 28


def test_large_latent_space_shows_its_most_informative_dims_first(qtbot, state, make_model, tmp_path):
    panel = TraversalPanel(state)
    qtbot.addWidget(panel)
    n = len(state.test_set)
    rng = np.random.default_rng(0)
    mu, logvar = np.zeros((n, 40), np.float32), np.zeros((n, 40), np.float32)
    for d, spread in ((35, 2.0), (7, 1.0), (33, 0.5)):  # M1+M2-like: a few active units
        mu[:, d] = rng.normal(0, spread, n)
        logvar[:, d] = -3.0
    state.set_model(make_model(1, latent_dim=40), {}, None, latents=(mu, logvar))
    assert len(panel.sliders) == MAX_DIMS
    assert panel.shown_dims[:3] == [35, 7, 33] and len(set(panel.shown_dims)) == MAX_DIMS
    assert f"{MAX_DIMS} of 40" in panel.note.text()
    panel.set_slider_value(33, 1.0)  # moves z[33], not the 33rd slider's
    assert abs(state.current_z[33] - 1.0) < 0.05 and not state.current_z[:33].any()
    grid = panel.make_grid()
    assert grid.shape[0] == MAX_DIMS
    assert np.abs(grid[0, 0] - grid[0, -1]).max() > np.abs(grid[-1, 0] - grid[-1, -1]).max()
    state.set_model(make_model(1, latent_dim=2), {}, None)
    assert len(panel.sliders) == 2 and panel.shown_dims == [0, 1] and not panel.note.isVisibleTo(panel)


def test_the_grid_follows_z_and_the_model_while_on(qtbot, state, make_model):
    """After "Grid", moving z[0] left the z[1] row as it was (and Export wrote that stale
    grid): while on, the grid is decoded anew from each z; off, it is gone."""
    panel = TraversalPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    state.set_model(make_model(5, latent_dim=2), {}, None)
    state.set_current_z(np.array([0.7, 0.1], np.float32))
    qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)
    assert panel.grid_button.isChecked() and panel.grid_canvas.isVisible()
    first = panel.grid.copy()
    panel.set_slider_value(0, -2.5)  # as a drag of z[0]'s slider does
    z = state.current_z
    qtbot.waitUntil(lambda: not np.array_equal(panel.grid, first), timeout=2000)
    np.testing.assert_allclose(panel.grid[1, GRID_VALUES // 2], decode(state.model, z)[0], atol=1e-5)
    state.set_model(make_model(6, latent_dim=2), {}, None)  # new weights (a snapshot, an open)
    qtbot.waitUntil(
        lambda: np.allclose(
            panel.grid[0, GRID_VALUES // 2], decode(state.model, state.current_z)[0], atol=1e-5
        ),
        timeout=2000,
    )
    qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)
    assert panel.grid is None and not panel.grid_canvas.isVisible() and not panel.export_button.isEnabled()
    shown = panel.canvas.image().copy()
    panel.set_slider_value(1, 1.0)
    assert panel.grid is None and not np.array_equal(panel.canvas.image(), shown)

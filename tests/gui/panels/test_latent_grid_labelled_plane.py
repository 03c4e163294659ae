"""The latent grid dock with a labelled model (M2, M1+M2) wider than two dimensions: its grid
lies on the scatter's plane (PCA, a UMAP / t-SNE map) like every other view's, drawn as the
chosen digit, and a clicked tile's code is a point of that plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def wide_labelled():
    """A small untrained 4-d M2 as the window holds it."""
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    torch.manual_seed(5)
    config = LabelledConfig(latent_dim=4, hidden_dim=32, classifier_hidden_dim=32)
    return ExplorerLabelledModel(config).eval()


@pytest.fixture
def grid(grid, state, wide_labelled):
    """The panel (conftest) with the 4-d labelled model."""
    state.set_model(wide_labelled, {}, None)
    return grid


def tile(mosaic, row, col):
    return mosaic[row * 28 : row * 28 + 28, col * 28 : col * 28 + 28]


def test_on_the_pca_plane_the_grid_is_the_planes_drawn_as_the_chosen_digit(grid, state, wide_labelled):
    grid.set_shown_class(3)
    on_axes = grid.grid()
    assert state.plane.set_kind("pca")
    shown = grid.grid()
    assert shown is not on_axes
    xs, ys = grid.axes()
    points = np.array([[x, y] for y in ys[::-1] for x in xs])  # row 0 is the top row
    np.testing.assert_allclose(shown.z, state.plane.codes_at(points), atol=1e-5)
    z = grid.tile_latent(1, 2)
    assert np.count_nonzero(z) == 4  # not two raw axes with the other dims at 0
    want = wide_labelled.decode(torch.as_tensor(z[None]), 3)[0].numpy().reshape(28, 28)
    np.testing.assert_allclose(tile(grid.canvas.image(), 1, 2), want, atol=1e-6)
    # another digit: the same codes, drawn as it
    grid.set_shown_class(8)
    np.testing.assert_allclose(grid.tile_latent(1, 2), z)
    want = wide_labelled.decode(torch.as_tensor(z[None]), 8)[0].numpy().reshape(28, 28)
    np.testing.assert_allclose(tile(grid.canvas.image(), 1, 2), want, atol=1e-6)
    # a clicked tile's code is a point of the plane on show
    n = state.grid_size
    grid._on_tile_clicked(2.5 / n, 1.5 / n)
    picked = state.current_z
    np.testing.assert_allclose(picked, z, atol=1e-6)
    back = state.plane.code_at(np.array(state.plane.point_of(picked)))
    np.testing.assert_allclose(back, picked, atol=1e-4)
    assert grid.grid() is state.decoded_grid()  # one grid, one cache, shared with the overlay


def test_on_a_map_the_grid_covers_what_is_in_view(grid, state, qtbot):
    from vae_explorer.core.projection import NeighbourProjection

    mu = np.asarray(state.latents[0], np.float32)
    layout = np.random.default_rng(1).normal(size=(len(mu), 2)).astype(np.float32)
    assert state.grid_spacing == "gaussian"
    assert state.plane.set_map(NeighbourProjection("umap", layout, mu))
    state.set_visible_range((-0.5, 0.5), (1.0, 2.0))
    qtbot.waitUntil(lambda: np.array_equal(grid.canvas.image(), state.decoded_grid().mosaic), timeout=2000)
    xs, ys = grid.axes()  # the map's units mean nothing: its grid follows the view
    assert xs[0] > -0.5 and xs[-1] < 0.5 and ys[0] > 1.0 and ys[-1] < 2.0
    # each tile stands for the code of the test point nearest to it on the map
    point = np.array([xs[0], ys[-1]])
    nearest = int(np.argmin(((layout - point) ** 2).sum(axis=1)))
    np.testing.assert_allclose(grid.tile_latent(0, 0), mu[nearest], atol=1e-6)


def test_the_digit_selectors_name_the_classes_of_the_data_on_show(qtbot, grid, state, small_test_set):
    """Another dataset shown under a labelled model: the preview named its classes while the
    grid's and the samples' Digit selectors kept the old data's names."""
    from vae_explorer.gui.panels import SamplesPanel

    samples = SamplesPanel(state)
    qtbot.addWidget(samples)
    assert grid.class_combo.itemText(3) == small_test_set.classes[3]
    names = [f"kind {i}" for i in range(10)]
    other = type(small_test_set)("clothes", "test", small_test_set.images, small_test_set.labels, names)
    state.set_dataset("/some/folder", other)
    assert [grid.class_combo.itemText(i) for i in range(10)] == names
    assert samples.class_combo.itemText(4) == "kind 3"  # (after "one row per digit")

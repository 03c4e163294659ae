"""The latent grid and samples docks with a labelled model: a digit selector; the grid is
every style drawn as the chosen digit; the samples are class-conditional."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def samples(qtbot, state):
    from vae_explorer.gui.panels import SamplesPanel

    view = SamplesPanel(state)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def tile(mosaic, row, col, pad=0):
    s = 28 + pad
    return mosaic[row * s : row * s + 28, col * s : col * s + 28]


def test_grid_has_a_digit_selector_for_labelled_models_only(grid, state, labelled_model, qtbot):
    assert grid.class_combo.isHidden() and grid.shown_class() is None
    state.set_model(labelled_model, {}, None)
    assert not grid.class_combo.isHidden() and grid.class_combo.count() == 10
    assert grid.shown_class() == 0
    for y in (0, 7):
        grid.set_shown_class(y)
        z = grid.tile_latent(2, 3)
        want = labelled_model.decode(z[None], y)[0].numpy().reshape(28, 28)
        np.testing.assert_allclose(tile(grid.canvas.image(), 2, 3), want, atol=1e-6)
    seven = grid.canvas.image().copy()
    grid.set_shown_class(1)
    assert not np.allclose(grid.canvas.image(), seven)
    # a tile click still sends the tile's style code to the state
    grid._on_tile_clicked(3.5 / state.grid_size, 2.5 / state.grid_size)
    np.testing.assert_allclose(state.current_z, grid.tile_latent(2, 3))


def test_samples_are_class_conditional(samples, state, labelled_model):
    assert samples.class_combo.isHidden() and samples.shown_class() is None
    state.set_model(labelled_model, {}, None)
    assert samples.shown_class() == -1  # one row per digit
    assert samples.size_spin.prefix() == "styles "  # the columns, not a grid's side
    n = samples.size_spin.value()
    z = torch.randn((n, 2), generator=torch.Generator().manual_seed(0))
    mosaic = samples.mosaic
    assert mosaic.shape == (10 * 29, n * 29)
    for y in (0, 4, 9):
        for j in (0, n - 1):  # column j: the same style z_j as each digit
            want = labelled_model.decode(z[j : j + 1], y)[0].numpy().reshape(28, 28)
            np.testing.assert_allclose(tile(mosaic, y, j, pad=1), want, atol=1e-6)
    samples.set_shown_class(3)
    assert samples.size_spin.prefix() == "grid "
    z = torch.randn((n * n, 2), generator=torch.Generator().manual_seed(0))
    want = labelled_model.decode(z, 3).numpy().reshape(-1, 28, 28)
    assert samples.mosaic.shape == (n * 29, n * 29)
    np.testing.assert_allclose(tile(samples.mosaic, 1, 2, pad=1), want[n + 2], atol=1e-6)


def test_the_chosen_digit_is_what_every_decoding_view_draws(grid, state, labelled_model, qtbot):
    """The grid's digit selector sets the state's shown digit: the decoder preview and the
    traversal draw the style as that digit too; the picked image's reconstruction uses the
    digit its classifier reads (the y its latent was encoded with), whatever is shown."""
    from vae_explorer.gui.panels import DecoderPreview
    from vae_explorer.gui.panels.traversal import TraversalPanel

    preview, traversal = DecoderPreview(state), TraversalPanel(state)
    for view in (preview, traversal):
        qtbot.addWidget(view)
        view.show()
    state.set_model(labelled_model, {}, None)
    z = np.array([0.7, -1.2], np.float32)
    state.set_current_z(z)

    def drawn_as(y):
        return labelled_model.decode(z[None], y).numpy().reshape(28, 28)

    grid.class_combo.setCurrentIndex(grid.class_combo.findData(6))
    assert state.shown_class == 6
    qtbot.waitUntil(lambda: np.allclose(traversal.canvas.image(), drawn_as(6), atol=1e-5), timeout=5000)
    np.testing.assert_allclose(preview.canvas.image(), drawn_as(6), atol=1e-5)
    assert "drawn as 6" in preview.coords.text()
    assert not np.allclose(drawn_as(6), drawn_as(0), atol=1e-3)

    state.set_picked_index(4)
    image = state.test_set.images[4].reshape(1, -1)
    y = int(labelled_model.classify(image)[0])
    mu = state.latents[0][4:5]
    expected = labelled_model.decode(mu, y).numpy().reshape(28, 28)
    np.testing.assert_allclose(preview.recon_view.image(), expected, atol=1e-5)

"""The decoder preview alone: it follows the state's z, model, picked index and dataset."""

from __future__ import annotations

import numpy as np
import pytest
from panel_helpers import decode


@pytest.fixture
def preview(qtbot, state):
    from vae_explorer.gui.panels import DecoderPreview

    view = DecoderPreview(state)
    qtbot.addWidget(view)
    return view


def test_the_preview_decodes_the_current_z_with_the_current_model(preview, state, make_model):
    np.testing.assert_allclose(preview.canvas.image(), decode(state.model, [0, 0])[0], atol=1e-6)
    state.set_current_z([0.5, -1.25])
    np.testing.assert_allclose(preview.canvas.image(), decode(state.model, [0.5, -1.25])[0], atol=1e-6)
    assert preview.coords.text() == "z = (+0.50, \u22121.25)"
    np.testing.assert_array_equal(preview.z, [0.5, -1.25])
    other = make_model(7)
    state.set_model(other, {}, None)
    np.testing.assert_allclose(preview.canvas.image(), decode(other, [0.5, -1.25])[0], atol=1e-6)


def test_long_codes_are_shortened_in_the_coordinates(preview, state, make_model):
    state.set_model(make_model(1, latent_dim=8), {}, None)
    state.set_current_z(np.arange(8) / 4)
    assert preview.coords.text() == "z = (+0.00, +0.25, +0.50, +0.75, +1.00, +1.25, …)"


def test_the_pair_shows_the_picked_image_and_its_reconstruction(preview, state):
    hint = preview.selected.text()
    assert not any(h.isVisibleTo(preview) for h in preview._headings)  # no headings over nothing
    state.set_picked_index(3)
    assert all(h.isVisibleTo(preview) for h in preview._headings)
    test = state.test_set
    np.testing.assert_array_equal(preview.input_view.image(), test.images[3])
    mu = state.latents[0][3]
    np.testing.assert_allclose(preview.recon_view.image(), decode(state.model, mu)[0], atol=1e-6)
    assert preview.selected.text() == f"test image #3: {test.classes[test.labels[3]]}"
    state.set_picked_index(None)  # a click on empty space
    assert preview.input_view.image() is None and preview.recon_view.image() is None
    assert preview.selected.text() == hint
    assert not any(h.isVisibleTo(preview) for h in preview._headings)


def test_the_pair_is_cleared_when_the_dataset_changes(preview, state, small_test_set):
    from vae_explorer.core.data import Dataset

    state.set_picked_index(5)
    assert preview.input_view.image() is not None
    flipped = Dataset(
        "fashion",
        "test",
        small_test_set.images[::-1].copy(),
        small_test_set.labels[::-1].copy(),
        [f"c{i}" for i in range(10)],
    )
    state.set_dataset("fashion-mnist", flipped)
    assert preview.input_view.image() is None and preview.recon_view.image() is None
    assert "click a point" in preview.selected.text()


def test_the_pair_is_redecoded_by_a_new_model(preview, state, make_model):
    state.set_picked_index(8)
    before = preview.recon_view.image().copy()
    other = make_model(11)
    state.set_model(other, {}, None)
    mu = state.latents[0][8]  # re-encoded by the new model
    np.testing.assert_allclose(preview.recon_view.image(), decode(other, mu)[0], atol=1e-6)
    assert not np.allclose(preview.recon_view.image(), before)
    np.testing.assert_array_equal(preview.input_view.image(), state.test_set.images[8])

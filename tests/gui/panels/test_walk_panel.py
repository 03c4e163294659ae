"""The walk panel alone: its strip's ends decode to the ends' decodings, test-image ends
follow the model, a spherical strip for d > 2, and the PNG and GIF exports."""

from __future__ import annotations

import numpy as np
from panel_helpers import decode
from PySide6.QtGui import QImage

from vae_explorer.core.interpolation import latent_path
from vae_explorer.gui.panels.walk import WalkPanel


def test_strip_ends_are_the_ends_decodings(qtbot, state, make_model):
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    paths = []
    panel.pathChanged.connect(lambda: paths.append(panel.path()))
    state.set_picked_index(7)
    panel.end_from_picked("A")
    state.set_current_z([1.2, -0.8])
    panel.end_from_crosshair("B")
    panel.steps.setValue(6)
    strip = panel.strips["linear"]
    assert strip.shape == (6, 28, 28) and "spherical" not in panel.strips  # 2-d: the line only
    mu7 = state.latents[0][7]
    np.testing.assert_allclose(strip[0], decode(state.model, mu7)[0], atol=1e-6)
    np.testing.assert_allclose(strip[-1], decode(state.model, [1.2, -0.8])[0], atol=1e-6)
    np.testing.assert_allclose(paths[-1], latent_path(mu7, [1.2, -0.8], 6), atol=1e-6)
    assert "test image #7" in panel.end_labels["A"].text()

    # A test image's end is its mean under the model on show.
    state.set_model(make_model(11), {}, None)
    np.testing.assert_allclose(panel.ends["A"].z, state.latents[0][7])
    np.testing.assert_allclose(
        panel.strips["linear"][0], decode(state.model, state.latents[0][7])[0], atol=1e-6
    )


def test_spherical_strip_for_larger_latent_spaces_and_exports(qtbot, state, make_model, tmp_path):
    import imageio.v2 as imageio

    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(3, latent_dim=5), {}, None)
    a, b = panel.test_image_end(0), panel.test_image_end(1)
    panel.walk_between(a, b)
    assert set(panel.strips) == {"linear", "spherical"}
    sph = panel.strips["spherical"]
    np.testing.assert_allclose(sph[0], decode(state.model, a.z)[0], atol=1e-6)
    np.testing.assert_allclose(sph[-1], decode(state.model, b.z)[0], atol=1e-6)
    middle = latent_path(a.z, b.z, panel.steps.value(), "spherical")[4]
    np.testing.assert_allclose(sph[4], decode(state.model, middle)[0], atol=1e-5)

    png = panel.export_png(tmp_path / "walk.png")
    assert QImage(str(png)).height() > 2 * 28  # two rows
    gif = panel.export_gif(tmp_path / "walk.gif")
    n = panel.steps.value()
    assert len(imageio.mimread(gif)) == 2 * n - 2  # there and back


def test_a_new_latent_size_clears_the_ends(qtbot, state, make_model):
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    panel.walk_between(panel.test_image_end(0), panel.test_image_end(5))
    assert panel.strips
    state.set_model(make_model(1, latent_dim=3), {}, None)
    # Test-image ends are re-read under the new model; a code of another size is dropped.
    assert all(end is None or len(end.z) == 3 for end in panel.ends.values())
    panel.set_end("A", np.zeros(2))  # the wrong size is refused
    assert panel.ends["A"] is None or len(panel.ends["A"].z) == 3


def test_another_dataset_drops_the_test_image_ends_and_keeps_the_others(qtbot, state, small_test_set):
    """The new data's image of the same number took a test-image end's place, relabelled,
    without a word; an end at a code (the crosshair's) means the same on any data."""
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    state.set_current_z([0.5, -0.25])
    panel.end_from_crosshair("B")
    panel.set_walk_end("A", panel.test_image_end(3))
    assert panel.ends["A"] is not None and panel.ends["A"].index == 3
    other = type(small_test_set)(
        small_test_set.name, "test", small_test_set.images[::-1].copy(), small_test_set.labels[::-1].copy(),
        small_test_set.classes,
    )  # fmt: skip
    state.set_dataset("/some/folder", other)
    assert panel.ends["A"] is None
    np.testing.assert_allclose(panel.ends["B"].z, [0.5, -0.25])


def test_a_hint_to_draw_first_goes_once_the_canvas_has_a_drawing(qtbot, state):
    """Set ▸ Canvas drawing with nothing drawn said "Draw a digit on the Canvas first.";
    the line stayed after the digit was drawn."""
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    state.set_canvas_posterior(None, None)
    panel.end_from_canvas("A")
    assert panel.hint.text() == "Draw a digit on the Canvas first."
    state.set_picked_index(3)  # (not what it asked for: the line stays)
    assert panel.hint.text() == "Draw a digit on the Canvas first."
    state.set_canvas_posterior(state.latents[0][7], state.latents[1][7])
    assert "Canvas" not in panel.hint.text() and "Set" in panel.hint.text()
    panel.end_from_canvas("A")
    assert panel.ends["A"] is not None and panel.ends["A"].label == "the canvas drawing"


def test_a_hint_to_pick_first_goes_once_a_test_image_is_picked(qtbot, state):
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    state.set_picked_index(None)
    panel.end_from_picked("B")
    assert panel.hint.text().startswith("Pick a test image")
    state.set_picked_index(5)
    assert not panel.hint.text().startswith("Pick a test image")

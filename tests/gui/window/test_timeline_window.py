"""The timeline in the window: scrubbing moves the scatter's points and the decoders to the
past epoch, marks the curves, Live returns; a saved model keeps its history; the walk's
path is drawn on the scatter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from vae_explorer.core.checkpoint_file import read_arrays
from vae_explorer.core.history import EPOCHS_KEY
from vae_explorer.core.latent import encode_images
from vae_explorer.core.model import VAE, VAEConfig


def test_scrubbing_moves_points_decoders_and_curves(qtbot, make_window, history_checkpoint, tmp_path):
    path, models = history_checkpoint
    w = make_window(path)
    state = w.state
    assert state.scrub.last == 3 and state.scrub.epoch is None
    live_x, _ = (a.copy() for a in w.scatter.cloud.points())
    live_grid = w.grid.mosaic.copy()
    w.samples.refresh()
    live_samples = w.samples.mosaic.copy()

    w.timeline.set_epoch(1.0)
    QApplication.processEvents()
    w.samples.refresh()  # (its redraw is throttled; this is the one it would make)
    x, y = w.scatter.cloud.points()
    past = encode_images(models[1], state.test_set.images)[0]
    np.testing.assert_allclose(x, past[:, 0], atol=2e-2)
    assert not np.allclose(x, live_x, atol=2e-2)
    assert state.decoder_model is not None and state.decoder_model is not state.model
    assert not np.allclose(w.grid.mosaic, live_grid, atol=1e-3)  # the grid of epoch 1's weights
    assert not np.allclose(w.samples.mosaic, live_samples, atol=1e-3)  # and its samples
    z = state.current_z
    from vae_explorer.core.latent import decode_latents

    np.testing.assert_allclose(w.preview.canvas.image(), decode_latents(models[1], z[None])[0], atol=5e-3)
    curves = w.training.curves
    plots = (curves.nats_plot, curves.kl_plot, curves.error_plot)
    assert all(line.value() == 1.0 for line in w.epoch_lines) and w.epoch_lines[0].isVisible()
    assert all(line.isVisible() == plot.isVisible() for line, plot in zip(w.epoch_lines, plots, strict=True))

    w.timeline.live_button.click()
    QApplication.processEvents()
    np.testing.assert_array_equal(w.scatter.cloud.points()[0], live_x)
    np.testing.assert_allclose(w.grid.mosaic, live_grid)
    assert not any(line.isVisible() for line in w.epoch_lines)

    # A saved model keeps its history.
    out = tmp_path / "again.safetensors"
    assert w.save_model(out)
    _, arrays = read_arrays(out)
    np.testing.assert_array_equal(arrays[EPOCHS_KEY], [1, 2, 3])


def test_walk_path_is_drawn_on_the_scatter(window):
    walk = window.walk
    walk.walk_between(walk.test_image_end(0), walk.test_image_end(1))
    xs, ys = window.walk_path_item.getData()
    mu = window.state.latents[0]
    assert len(xs) == walk.steps.value()
    np.testing.assert_allclose([xs[0], ys[0]], mu[0], atol=1e-5)
    np.testing.assert_allclose([xs[-1], ys[-1]], mu[1], atol=1e-5)


def test_shift_click_walks_from_the_picked_point(qtbot, window):
    from gui_helpers import data_pos
    from PySide6.QtCore import Qt

    state = window.state
    mu = state.latents[0]
    vp = window.scatter.plot.viewport()
    # Two points near the extremes along z[0], each clicked with the view zoomed in on it
    # (how close the points lie depends on the small model this machine trained).
    order = np.argsort(mu[:, 0])
    i, j = _most_isolated(mu, order[:20]), _most_isolated(mu, order[-20:])

    def click(index: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        x, y = (float(v) for v in mu[index])
        window.scatter.vb.setRange(xRange=(x - 0.01, x + 0.01), yRange=(y - 0.01, y + 0.01), padding=0)
        QApplication.processEvents()
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, modifier, data_pos(window, x, y).toPoint())

    click(i)
    assert state.picked_index == i
    click(j, Qt.KeyboardModifier.ShiftModifier)
    assert state.picked_index == j
    assert window.walk.ends["A"].index == i and window.walk.ends["B"].index == j
    assert window.walk.strips["linear"].shape[0] == window.walk.steps.value()


def _most_isolated(points: np.ndarray, candidates: np.ndarray) -> int:
    """The candidate whose nearest other point is farthest away."""
    gaps = [np.delete(np.linalg.norm(points - points[c], axis=1), c).min() for c in candidates]
    return int(candidates[int(np.argmax(gaps))])


def test_animating_a_labelled_model_says_why_there_is_no_history(window, monkeypatch):
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel
    from vae_explorer.gui.window.explorer_docks import _export_animation

    window.state.set_model(ExplorerLabelledModel(LabelledConfig(kind="m2", hidden_dim=16)), {}, None)
    _export_animation(window)
    assert (
        window.last_error is not None
        and "labelled model's run keeps no training history" in window.last_error
    )


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_a_labelled_model_s_timeline_says_it_records_none(window, kind):
    """It said "No training history · train to record one": training a labelled model
    records no timeline, so it says that instead; a VAE without one is still told to train."""
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    timeline = window.timeline
    assert timeline.weights_label.text() == "train to record one"  # (the small model has none)
    config = LabelledConfig(
        kind=kind, hidden_dim=16, classifier_hidden_dim=16, m1_latent_dim=4, m1_hidden_dim=16
    )
    window.state.set_model(ExplorerLabelledModel(config), {}, None)
    said = f"{timeline.epoch_label.text()} {timeline.weights_label.text()}"
    assert "labelled models (M2, M1+M2) record none" in said and "train to" not in said
    assert "M2, M1+M2" in timeline.weights_label.toolTip()
    assert "train it" not in timeline.weights_label.toolTip()
    assert not timeline.export_button.isEnabled()

    window.state.set_model(VAE(VAEConfig(latent_dim=2, hidden_dim=16)), {}, None)
    assert timeline.epoch_label.text() == "No training history"
    assert timeline.weights_label.text() == "train to record one"
    assert "train it" in timeline.weights_label.toolTip()


def test_the_posterior_follows_the_scrubbed_weights(qtbot, make_window, history_checkpoint):
    """The scatter and the decoders showed epoch 1 while the posterior stayed the live
    model's: it is solved with the scrubbed epoch's weights, and says so."""
    from vae_explorer.core.posterior.exact import exact_posterior

    path, models = history_checkpoint
    w = make_window(path)
    w.posterior_dock.raise_()
    qtbot.waitUntil(lambda: not w.posterior_dock.visibleRegion().isEmpty(), timeout=2000)
    w.state.set_picked_index(5)
    qtbot.waitUntil(lambda: w.posterior._shown is not None, timeout=20_000)
    image = w.state.test_set.images[5]
    live = exact_posterior(models[3], image).log_px
    assert w.posterior._shown.posterior.log_px == pytest.approx(live, abs=1e-3)
    w.timeline.set_epoch(1.0)
    qtbot.waitUntil(lambda: "epoch 1's weights" in w.posterior._shown.label, timeout=20_000)
    assert w.posterior._shown.posterior.log_px == pytest.approx(
        exact_posterior(models[1], image).log_px, abs=1e-3
    )
    assert "epoch 1's weights" in w.posterior.caption.text()
    w.timeline.go_live()
    qtbot.waitUntil(lambda: "epoch" not in w.posterior._shown.label, timeout=20_000)


def same_weights(a, b) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_the_canvas_imputes_and_encodes_with_the_scrubbed_weights(qtbot, make_window, history_checkpoint):
    """Scrubbed back, every view drew with that epoch's weights but the canvas, which went on
    imputing and placing its drawing with the live model's."""
    from vae_explorer.core.latent import encode_images

    path, _ = history_checkpoint
    w = make_window(path)
    canvas, state = w.canvas, w.state
    canvas.load_test_digit(3)
    canvas.apply_preset_mask("left_half")
    qtbot.waitUntil(lambda: canvas.last_encoding is not None, timeout=5000)
    x = np.where(canvas.canvas.mask_array(), 0.0, canvas.canvas.ink_array()).astype(np.float32).reshape(1, -1)
    live = state.model
    assert same_weights(canvas._worker_model, live)
    w.timeline.set_epoch(1.0)
    QApplication.processEvents()
    past = state.decoder_model
    assert past is not live and same_weights(canvas._worker_model, past)
    expected = encode_images(past, x)[0][0]
    assert not np.allclose(expected, encode_images(live, x)[0][0], atol=1e-3)
    qtbot.waitUntil(lambda: np.allclose(canvas.last_encoding[0], expected, atol=1e-5), timeout=5000)
    w.timeline.go_live()
    QApplication.processEvents()
    assert same_weights(canvas._worker_model, live)

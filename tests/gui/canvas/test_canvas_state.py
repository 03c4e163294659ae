"""The canvas on the ExplorerState: the drawing's posterior goes to the state, the model and
the test digits come from it, and training snapshots refresh the worker's copy sparingly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from canvas_helpers import LEFT, at, make_model, set_size, stroke
from PySide6.QtTest import QTest

from vae_explorer.core.latent import encode_images
from vae_explorer.gui.canvas import panel as panel_module
from vae_explorer.gui.latent_text import vector_text


def encoding(model, ink: np.ndarray, mask: np.ndarray | None = None):
    x = ink if mask is None else np.where(mask, 0, ink)
    mu, logvar = encode_images(model, x.reshape(1, 784).astype(np.float32))
    return mu[0], logvar[0]


@pytest.mark.parametrize("latent_dim", [1, 2, 10])
def test_drawing_sets_the_states_canvas_posterior_and_clearing_unsets_it(qtbot, state, panel, latent_dim):
    model = make_model(latent_dim)
    state.set_model(model)
    assert state.canvas_posterior is None  # nothing drawn yet: no marker on the scatter
    set_size(panel, 2)
    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        stroke(qtbot, panel, [(6, 6), (20, 20)])
    mu, logvar = state.canvas_posterior
    assert mu.shape == (latent_dim,) and logvar.shape == (latent_dim,)
    assert mu.dtype == np.float32 and logvar.dtype == np.float32
    want_mu, want_logvar = encoding(model, panel.canvas.ink_array())
    np.testing.assert_allclose(mu, want_mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar, want_logvar, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(panel.last_encoding[0], mu)

    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        panel.clear_action.trigger()
    assert state.canvas_posterior is None and panel.last_encoding is None


def test_an_empty_canvas_never_sets_a_posterior(qtbot, state, panel):
    changes = []
    state.canvasPosteriorChanged.connect(lambda: changes.append(state.canvas_posterior))
    state.set_model(make_model(2))
    panel.apply_preset_mask("left_half")  # a mask alone is not a drawing
    qtbot.wait(4 * panel_module.ENCODE_INTERVAL_MS)
    assert changes == [] and state.canvas_posterior is None
    assert panel.latent_label.text() == ""


def test_encoding_sees_missing_pixels_as_zero(qtbot, state, panel):
    model = make_model(2)
    state.set_model(model)
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=2000)
    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        panel.apply_preset_mask("bottom_half")
    x = np.ones((28, 28), np.float32)
    x[14:] = 0
    np.testing.assert_allclose(state.canvas_posterior[0], encoding(model, x)[0], rtol=1e-5, atol=1e-6)


def test_posterior_is_throttled_while_painting(qtbot, state, panel):
    state.set_model(make_model(2))
    emitted = []
    state.canvasPosteriorChanged.connect(lambda: emitted.append(state.canvas_posterior))
    canvas = panel.canvas
    qtbot.mousePress(canvas, LEFT, pos=at(panel, 2, 2))
    for i in range(40):
        QTest.mouseMove(canvas, at(panel, 2 + i % 20, 2 + i // 2))
    qtbot.mouseRelease(canvas, LEFT, pos=at(panel, 20, 20))
    qtbot.waitUntil(lambda: len(emitted) >= 1, timeout=2000)
    qtbot.wait(4 * panel_module.ENCODE_INTERVAL_MS)
    assert 1 <= len(emitted) <= 3  # 40 edits, no event processing between them


def test_no_model_means_no_encoding_and_no_imputation(qtbot, state, panel):
    stroke(qtbot, panel, [(5, 5), (9, 9)])
    qtbot.wait(4 * panel_module.ENCODE_INTERVAL_MS)
    assert state.canvas_posterior is None
    assert not panel.impute_button.isEnabled() and not panel.impute_action.isEnabled()
    assert panel.imputed_tile.isEnabled() is False
    assert panel.message_label.text().startswith("Load or train")
    model = make_model(2)
    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        state.set_model(model)  # the drawing is encoded as soon as there is a model
    np.testing.assert_allclose(
        state.canvas_posterior[0], encoding(model, panel.canvas.ink_array())[0], atol=1e-6
    )
    assert panel.impute_button.isEnabled() and panel.imputed_tile.isEnabled()
    assert panel.message_label.text().startswith("Paint or load a test")


def test_a_new_model_re_encodes_the_drawing(qtbot, state, panel):
    first, second = make_model(2, seed=0), make_model(2, seed=1)
    state.set_model(first)
    stroke(qtbot, panel, [(4, 4), (22, 12)])
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=2000)
    before = state.canvas_posterior[0].copy()
    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        state.set_model(second)
    want = encoding(second, panel.canvas.ink_array())[0]
    np.testing.assert_allclose(state.canvas_posterior[0], want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, want)
    # A model with another latent size: the posterior follows its size.
    with qtbot.waitSignal(state.canvasPosteriorChanged, timeout=2000):
        state.set_model(make_model(5))
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=2000)
    assert state.canvas_posterior[0].shape == (5,)


def test_latent_label_shows_the_encoding(qtbot, state, panel):
    state.set_model(make_model(2))
    stroke(qtbot, panel, [(10, 10), (12, 16)])
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=2000)
    mu = state.canvas_posterior[0]
    assert panel.latent_label.text().startswith(f"Encoded at z = {vector_text(mu)}, σ = (")
    panel.clear_action.trigger()
    qtbot.waitUntil(lambda: panel.latent_label.text() == "", timeout=2000)


def same_weights(a, b) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_live_snapshots_copy_the_model_at_most_once_per_interval_and_at_the_end(
    qtbot, state, panel, monkeypatch
):
    state.set_model(make_model(2))
    stroke(qtbot, panel, [(4, 4), (22, 12)])
    copies = []
    real_deepcopy = panel_module.copy.deepcopy
    monkeypatch.setattr(
        panel_module.copy,
        "deepcopy",
        # Models only: other code (a config's to_dict) deep-copies small values too.
        lambda obj, *a: (
            (copies.append(obj) if isinstance(obj, torch.nn.Module) else None) or real_deepcopy(obj, *a)
        ),
    )
    state.set_training(True)
    first_version = state.model_version + 1
    for seed in range(10):  # a burst of snapshots, faster than MODEL_REFRESH_MS
        state.set_model(make_model(2, seed=seed), live=True)
        QTest.qWait(5)
    assert len(copies) == 1 and panel.worker_model_version() == first_version
    # The posterior still follows every snapshot: the scatter shows the current space.
    qtbot.waitUntil(
        lambda: (
            state.canvas_posterior is not None
            and np.allclose(state.canvas_posterior[0], encoding(state.model, panel.canvas.ink_array())[0])
        ),
        timeout=2000,
    )
    state.set_training(False)  # the run ended: its last snapshot is copied now
    assert len(copies) == 2 and panel.worker_model_version() == state.model_version
    assert same_weights(panel._worker_model, state.model)
    assert panel._worker_model is not state.model


def test_a_live_snapshot_is_picked_up_after_the_interval(qtbot, state, make_panel, monkeypatch):
    monkeypatch.setattr(panel_module, "MODEL_REFRESH_MS", 600)
    panel = make_panel()
    state.set_training(True)
    state.set_model(make_model(2, seed=0), live=True)
    # The first one promptly, in an event-loop turn of its own (own_turn.py) ...
    qtbot.waitUntil(lambda: panel.worker_model_version() == state.model_version, timeout=500)
    state.set_model(make_model(2, seed=1), live=True)
    state.set_model(make_model(2, seed=2), live=True)
    qtbot.wait(30)  # ... the next ones not before the interval
    assert panel.worker_model_version() == state.model_version - 2
    qtbot.waitUntil(lambda: panel.worker_model_version() == state.model_version, timeout=2000)


def test_a_final_non_live_model_is_copied_at_once(qtbot, state, panel):
    state.set_training(True)
    state.set_model(make_model(2, seed=0), live=True)
    qtbot.waitUntil(lambda: panel.worker_model_version() == state.model_version, timeout=500)
    state.set_model(make_model(2, seed=1), live=True)
    qtbot.wait(30)
    assert panel.worker_model_version() == state.model_version - 1
    state.set_model(make_model(2, seed=2))  # e.g. the final model, before trainingChanged
    assert panel.worker_model_version() == state.model_version

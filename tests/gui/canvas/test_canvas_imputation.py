"""Imputation from the canvas: each method, live imputation, the worker never backlogged,
errors shown, and shutdown leaving no thread behind."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from canvas_helpers import LEFT, digits, expected_preset, make_model, set_size, stroke
from PySide6.QtCore import Qt

from vae_explorer.core.imputation import METHODS
from vae_explorer.gui import workers
from vae_explorer.gui.canvas import impute_runner


def setup_masked_digit(state, panel, model) -> np.ndarray:
    state.set_dataset("synthetic", digits())
    state.set_model(model)
    panel.load_test_digit(1)
    panel.apply_preset_mask("middle_rows")
    return panel.canvas.ink_array()


@pytest.mark.parametrize("method", METHODS)
def test_impute_keeps_observed_pixels_and_fills_missing_ones(qtbot, state, panel, method):
    ink = setup_masked_digit(state, panel, make_model(2))
    panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
    if method != "single":
        panel.steps_spin.setValue(2)
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        qtbot.mouseClick(panel.impute_button, LEFT)
    out = blocker.args[0]
    mask = expected_preset("middle_rows")
    assert out.shape == (28, 28) and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], ink[~mask])
    filled = out[mask]
    assert np.all((filled >= 0) & (filled <= 1))
    assert np.abs(filled - ink[mask]).max() > 0.05  # the model filled them in
    np.testing.assert_array_equal(panel.imputed_image(), out)
    np.testing.assert_array_equal(panel.masked_tile.image(), ink)
    assert panel.imputed_tile.title() == "Imputed"
    assert "ms" in panel.message_label.text()


def test_method_sets_its_default_steps_and_its_name_fits(panel):
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    from vae_explorer.core.imputation import DEFAULT_STEPS, METHOD_LABELS

    combo = panel.method_combo
    for method in METHODS:
        index = combo.findData(method)
        assert combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == METHOD_LABELS[method]
        combo.setCurrentIndex(index)
        assert panel.steps_spin.value() == DEFAULT_STEPS[method]
        # The shown name is never cut off ("Importanc"): it fits the combo's text field.
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        assert combo.fontMetrics().horizontalAdvance(combo.currentText()) <= field.width(), method


def test_single_pass_matches_decoding_the_zero_filled_encoding(qtbot, state, panel):
    model = make_model(2)
    ink = setup_masked_digit(state, panel, model)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("single"))
    assert not panel.steps_spin.isEnabled()
    with qtbot.waitSignal(panel.imputed, timeout=5000) as blocker:
        panel.impute()
    mask = expected_preset("middle_rows")
    with torch.no_grad():
        x = torch.from_numpy(np.where(mask, 0, ink).reshape(1, 784))
        decoded = model.decode(model.encode(x)[0]).numpy().reshape(28, 28)
    np.testing.assert_allclose(blocker.args[0][mask], decoded[mask], atol=1e-5)


def test_all_missing_mask_gives_a_model_image(qtbot, state, panel):
    state.set_model(make_model(10))
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    panel.canvas.set_mask(np.ones((28, 28), bool))
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        panel.impute()
    out = blocker.args[0]
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, 1.0)


def test_ctrl_return_imputes(qtbot, state, panel):
    setup_masked_digit(state, panel, make_model(2))
    panel.canvas.setFocus()
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        qtbot.keyClick(panel.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_live_imputation_follows_painting(qtbot, state, panel):
    setup_masked_digit(state, panel, make_model(2))
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("single"))
    with qtbot.waitSignal(panel.imputed, timeout=5000):
        panel.live_check.setChecked(True)
    set_size(panel, 1)
    with qtbot.waitSignal(panel.imputed, timeout=5000) as blocker:
        stroke(qtbot, panel, [(2, 2), (2, 10)])
    assert np.all(blocker.args[0][2, 2:11] == 1.0)  # the new observed ink is in the result
    qtbot.waitUntil(lambda: panel.imputed_tile.title() == "Imputed", timeout=5000)
    # Turning live off: further strokes leave the imputation marked out of date.
    panel.live_check.setChecked(False)
    stroke(qtbot, panel, [(25, 2)])
    qtbot.waitUntil(lambda: panel.imputed_tile.title() == "Imputed (out of date)", timeout=5000)


def test_saving_the_model_keeps_the_imputation(qtbot, state, panel, tmp_path):
    setup_masked_digit(state, panel, make_model(2))
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        panel.impute()
    version = panel.worker_model_version()
    state.mark_saved(tmp_path / "model.safetensors")  # modelChanged, the same weights
    assert panel.worker_model_version() == version
    np.testing.assert_array_equal(panel.imputed_image(), blocker.args[0])


def slow_run_request(monkeypatch, delay_s: float = 0.05):
    """Make the worker's job slow; returns (tokens run, an event set when a job starts)."""
    calls: list[int] = []
    started = threading.Event()
    real = impute_runner.run_request

    def slow(request):
        calls.append(request.token)
        started.set()
        time.sleep(delay_s)  # on the worker thread: the job itself is slow
        return real(request)

    monkeypatch.setattr(impute_runner, "run_request", slow)
    return calls, started


def test_requests_faster_than_the_worker_are_coalesced(qtbot, state, make_panel, monkeypatch):
    calls, _ = slow_run_request(monkeypatch)
    panel = make_panel()
    setup_masked_digit(state, panel, make_model(2))
    results = []
    panel.imputed.connect(results.append)
    first = panel._token + 1
    for _ in range(20):
        panel.impute()
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=5000)
    assert calls == [first, first + 19]  # the running job, then only the newest request
    assert len(results) == 2
    assert panel.impute_button.text() == "Impute"
    assert panel.imputed_tile.title() == "Imputed"


def test_shutdown_with_a_running_imputation_leaves_no_thread(qtbot, state, make_panel, monkeypatch):
    calls, started = slow_run_request(monkeypatch, delay_s=0.3)
    panel = make_panel()
    setup_masked_digit(state, panel, make_model(2))
    panel.impute()
    assert started.wait(5)
    panel.impute()  # pending behind the running one: dropped by the shutdown
    assert panel.runner.is_busy() and workers.running_workers() == 1
    panel.shutdown()
    assert workers.running_workers() == 0
    panel.impute()  # after shutdown: ignored
    qtbot.wait(50)
    assert len(calls) == 1 and workers.running_workers() == 0


def test_an_imputation_error_is_shown_to_the_user(qtbot, state, panel, monkeypatch):
    setup_masked_digit(state, panel, make_model(2))

    def broken(*args, **kwargs):
        raise ValueError("no good")

    monkeypatch.setattr(impute_runner, "impute_multiple", broken)
    panel.impute()
    qtbot.waitUntil(lambda: "Imputation failed" in panel.message_label.text(), timeout=5000)
    assert "no good" in panel.message_label.text()
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=5000)


def test_a_labelled_model_says_it_has_no_imputation_not_impute_to_fill_in(state, panel):
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    torch.manual_seed(3)
    model = ExplorerLabelledModel(LabelledConfig(latent_dim=2, hidden_dim=32, classifier_hidden_dim=32))
    setup_masked_digit(state, panel, model.eval())
    assert not panel.impute_button.isEnabled()
    assert panel.imputed_tile._placeholder == "—"
    panel.load_test_digit(3)  # its message kept the reason out of view
    assert panel.message_label.text().startswith("Imputation needs a VAE: this is a labelled model")
    assert "#3" in panel.message_label.toolTip()
    assert not panel.draws_strip.isVisibleTo(panel)  # no row of empty fill-ins
    state.set_model(make_model(2))
    assert panel.imputed_tile._placeholder == "Impute to fill in"
    assert panel.draws_strip.isVisibleTo(panel)


def test_a_result_of_the_previous_model_is_never_shown(qtbot, state, make_panel, monkeypatch):
    """A model opened while an imputation runs: the old model's fill-in is dropped (the
    tiles wait for the new model's), not shown as "Imputed"."""
    _, started = slow_run_request(monkeypatch, delay_s=0.3)
    panel = make_panel()
    setup_masked_digit(state, panel, make_model(2))
    results = []
    panel.imputed.connect(results.append)
    panel.impute()
    assert started.wait(5)
    state.set_model(make_model(5))  # another model while the job runs
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=5000)
    qtbot.wait(50)
    assert results == [] and panel._result is None
    assert panel.imputed_tile._placeholder == "Impute to fill in"
    with qtbot.waitSignal(panel.imputed, timeout=10_000):
        panel.impute()  # the new model's, shown
    assert panel._result is not None and panel.imputed_tile.title() == "Imputed"


def test_with_nothing_masked_no_fill_ins_are_shown_and_the_message_says_why(qtbot, state, panel):
    """ "0 of 784 pixels missing" beside six copies of the drawing and a black spread map."""
    from vae_explorer.gui.canvas.panel import NOTHING_MASKED

    state.set_dataset("synthetic", digits())
    state.set_model(make_model(2))
    results = []
    panel.imputed.connect(results.append)
    panel.impute()  # an empty canvas: the first thing to do is paint
    assert panel.message_label.text().startswith("Paint or load a test")
    panel.load_test_digit(1)
    assert not panel.canvas.mask_array().any()
    panel.impute()
    assert panel.message_label.text() == NOTHING_MASKED
    assert not panel.runner.is_busy()  # nothing to fill in: no job
    qtbot.wait(50)
    assert results == []  # and no "imputed" image that nothing shows
    assert panel.imputed_tile.image() is None and panel.imputed_tile._placeholder == "nothing masked"
    assert panel.draws_strip.images() is None and panel.spread_tile.image() is None
    panel.apply_preset_mask("middle_rows")  # a mask: the fill-ins come
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        panel.impute()
    assert "280 of 784 pixels missing" in panel.message_label.text()
    assert panel.imputed_tile.image() is not None and panel.draws_strip.images() is not None

"""Faults met in a view, after the model was accepted, are told in the window (its dialog
and status bar), never only as a traceback on stderr:

- explore(): a user's model that passes the start-up check but fails later (decode raises,
  or returns NaN, far from the origin). explore() installs the app's exception hook while
  its windows are open and gives the caller's hook back when the last one closes;
- a checkpoint whose kept weights for one epoch of its history are NaN: scrubbing to it
  says so, and the views decode with the current model instead of drawing NaN.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from external_models import ProtocolModel
from PySide6.QtWidgets import QApplication
from window_helpers import recorded_run, told

import vae_explorer
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import WEIGHTS_PREFIX

IMAGES = np.random.default_rng(0).random((300, 784)).astype(np.float32)
FAR = np.array([6.0, 0.0], np.float32)


class FailsFarOut(ProtocolModel):
    """Fine near the origin (where explore() checks it), broken for codes with |z| > 4."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        with torch.no_grad():
            self.enc.weight.mul_(0.01)  # the images' codes lie near the origin

    def decode(self, z):
        if (z.abs() > 4).any():
            if self.mode == "raise":
                raise RuntimeError("decoder only defined for |z| <= 4")
            return torch.full((len(z), 784), float("nan"))
        return super().decode(z)


def _explore(qtbot, close_at_end, mode: str = "raise"):
    w = vae_explorer.explore(FailsFarOut(mode), IMAGES, block=False)
    close_at_end(w)
    qtbot.waitExposed(w)
    QApplication.processEvents()
    return w


@pytest.mark.parametrize(
    "mode, words",
    [
        ("raise", "your model's decode failed on 1 latent codes: RuntimeError: decoder only defined"),
        ("nan", "your model's decode returned NaN pixels"),
    ],
)
def test_a_view_failure_of_an_explored_model_is_shown_in_the_window(qtbot, close_at_end, mode, words):
    before = sys.excepthook
    w = _explore(qtbot, close_at_end, mode)
    assert w.last_error is None
    w.state.set_current_z(FAR)  # the decoder preview decodes a far code
    QApplication.processEvents()
    assert words in (w.last_error or "")
    assert words in told(w)
    assert w.isVisible()  # the window goes on: the next code near the origin decodes
    w.state.set_current_z(np.zeros(2, np.float32))
    QApplication.processEvents()
    assert np.isfinite(w.preview.canvas.image()).all()

    w.close()
    QApplication.processEvents()
    assert sys.excepthook is before  # the caller's hook (a notebook's) is back


def test_the_callers_hook_comes_back_when_the_last_explored_window_closes(qtbot, close_at_end):
    before = sys.excepthook
    first, second = _explore(qtbot, close_at_end), _explore(qtbot, close_at_end)
    hook = sys.excepthook
    assert hook is not before
    first.close()
    QApplication.processEvents()
    assert sys.excepthook is hook  # the second window still reports its errors
    second.state.set_current_z(FAR)
    QApplication.processEvents()
    assert "decoder only defined" in (second.last_error or "")
    second.close()
    QApplication.processEvents()
    assert sys.excepthook is before


def test_explored_windows_collect_garbage_on_the_gui_thread_only_while_open(qtbot, close_at_end, monkeypatch):
    """A collection that ran in a worker thread freed views' Qt objects there and deadlocked
    the process (as it did this suite once); the caller's session collects as before once
    the last explored window has closed."""
    import gc

    import vae_explorer.gui.app as app_module

    suite_collector = app_module._gui_thread_gc  # (the suite's own, tests/gui/conftest.py)
    app_module._gui_thread_gc = None
    gc.enable()
    try:
        first, second = _explore(qtbot, close_at_end), _explore(qtbot, close_at_end)
        assert not gc.isenabled() and app_module._gui_thread_gc is not None
        first.close()
        QApplication.processEvents()
        assert not gc.isenabled()
        second.close()
        QApplication.processEvents()
        assert gc.isenabled() and app_module._gui_thread_gc is None
    finally:
        if app_module._gui_thread_gc is not None:
            app_module._gui_thread_gc.timer.stop()
        app_module._gui_thread_gc = suite_collector
        gc.disable()


# --- a checkpoint with damaged kept weights -----------------------------------------------
@pytest.fixture(scope="module")
def damaged_history(tmp_path_factory, mnist_test):
    """Three epochs of a small model; the weights kept after epoch 2 have a NaN decoder."""
    models, arrays = recorded_run(mnist_test)
    arrays[f"{WEIGHTS_PREFIX}0002/dec_out.weight"][:] = np.nan
    path = tmp_path_factory.mktemp("damaged") / "damaged.safetensors"
    meta = {"dataset": "mnist", "history": [], "epochs_completed": 3}
    save_checkpoint(models[3], path, meta, arrays=arrays)
    return path


def test_scrubbing_to_damaged_kept_weights_says_so_and_draws_no_nan(qtbot, make_window, damaged_history):
    w = make_window(damaged_history)
    state = w.state
    assert w.last_error is None and state.scrub.last == 3
    state.set_current_z(np.array([0.5, 0.5], np.float32))

    w.timeline.set_epoch(2.0)
    QApplication.processEvents()
    message = w.last_error or ""
    assert "epoch 2" in message and "'dec_out.weight'" in message and "NaN" in message
    assert "Training history" in told(w)
    assert state.scrub.weights_problem() == message and state.scrub.error is None
    assert "damaged" in w.timeline.weights_label.text()  # (and the timeline says so)
    assert w.timeline.weights_label.toolTip() == message
    # The views decode with the current model, not NaN.
    assert state.decoder_model is state.model
    assert np.isfinite(w.preview.canvas.image()).all()
    assert np.isfinite(np.asarray(w.grid.mosaic, float)).all()
    # The scatter still shows epoch 2's latents.
    past = state.scrub.history.latents(2.0).mu
    np.testing.assert_allclose(w.scatter.cloud.points()[0], past[:, 0], atol=2e-2)

    # Told once, not at every redraw; the other epochs' weights still serve.
    w.last_error = None
    w.timeline.set_epoch(2.5)
    QApplication.processEvents()
    assert w.last_error is None
    w.timeline.set_epoch(1.0)
    QApplication.processEvents()
    assert state.decoder_model is not state.model and state.scrub.weights_problem() is None
    assert np.isfinite(w.preview.canvas.image()).all()
    assert w.last_error is None

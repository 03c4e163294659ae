"""Training a labelled model (M2) from the window: the run goes through the same controller,
the test error curve grows, the snapshot becomes the state's model and every dock keeps
working with it (decoder preview, grid with its digit selector, class-conditional samples)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt
from window_helpers import small_run

from vae_explorer.core.checkpoints import load_checkpoint


def test_window_trains_an_m2_model_and_its_docks_follow(window, qtbot):
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    small_run(window, epochs=2)
    t = window.training
    t.kind.setCurrentIndex(t.kind.findData("m2"))
    t.labels.setCurrentIndex(t.labels.findData(100))
    qtbot.mouseClick(t.start_button, Qt.MouseButton.LeftButton)
    assert window.trainer.is_running()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=180_000)
    assert not window.trainer.failed_run, window.last_error
    model = window.state.model
    assert isinstance(model, ExplorerLabelledModel)
    x, y = t.curves.series("error")
    assert x.size == 2 and np.all((0 <= y) & (y <= 100))
    assert window.state.model_meta["labels"] == 100
    # the docks that decode draw the style as a digit
    window.state.set_current_z([0.5, -0.5])
    qtbot.wait(50)
    grid = window.grid
    assert not grid.class_combo.isHidden()
    grid.set_shown_class(6)
    z = grid.tile_latent(0, 0)
    np.testing.assert_allclose(
        grid.canvas.image()[:28, :28], model.decode(z[None], 6)[0].numpy().reshape(28, 28), atol=1e-6
    )
    assert window.samples.shown_class() == -1 and window.samples.mosaic.shape[0] == 10 * 29
    assert window.last_error is None or "labelled" not in window.last_error


def test_the_m1_phase_of_an_m1m2_run_shows_live_and_keeps_a_recovery_copy(window, qtbot):
    """M1 trains first (30 epochs by default: minutes on a slow machine); the views follow it
    and a crash then does not lose it: the recovery copy holds M1 as trained so far."""
    small_run(window, epochs=1)
    t = window.training
    t.kind.setCurrentIndex(t.kind.findData("m1m2"))
    t.labels.setCurrentIndex(t.labels.findData(100))
    job = replace(t.job(), m1_epochs=10_000)  # M2 never starts in this test
    applied: list[int] = []
    window.trainer.snapshotApplied.connect(lambda snapshot: applied.append(snapshot.epoch))
    window.start_training(job)
    qtbot.waitUntil(lambda: window.recovery.exists and not window.recovery.writing, timeout=60_000)
    assert any(epoch >= 1 for epoch in applied) and t.readout.m1_epochs_done < 10_000
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.recovery.writing, timeout=10_000)
    copy = load_checkpoint(window.recovery.path)
    assert copy.kind == "m1m2" and copy.metadata["epochs_completed"] == 0
    history = copy.metadata["history"]
    assert history and all(r["phase"] == "m1" for r in history)
    assert len(history) == len(window.state.model_meta["history"])

"""An M1+M2 run's two phases in the training dock and the status bar: core's events count
M1's epochs (the VAE under M2, first) with M2's; the progress text, the status bar's
epoch, the end of the run and the curves name the phase and count each phase's epochs."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainingStarted

M1, M2 = 30, 1
M1_BATCHES, M2_BATCHES = 600, 599  # M1: batches of 100 of 60,000; M2: of 59,900 unlabelled


def m1_summary(epoch: int) -> EpochSummary:
    return EpochSummary(epoch, M1 + M2, 110.0 - epoch, 80.0, 27.0, None, None, None, 2.0, 1e-3)


def m2_summary(epoch: int) -> EpochSummary:
    nan = math.nan
    return EpochSummary(M1 + epoch, M1 + M2, 38.0, nan, nan, -40.0, None, None, 9.0, 3e-3)


def start_m1m2(panel, m1_epochs: int | None = M1) -> None:
    panel._on_training_changed(True)  # the run asked for: its curves come next
    panel.readout.labelled = True
    panel.curves.set_labelled(True)
    panel.on_started(TrainingStarted("cpu", M1 + M2, M2_BATCHES, 60_000), m1_epochs)


def run_m1(panel, upto: int = M1) -> None:
    for e in range(1, upto + 1):
        for b in (300, M1_BATCHES):
            panel.on_batch(BatchMetrics(e, b, M1_BATCHES, 105.0, 78.4, 27.05, 34_860.0))
        panel.on_epoch(m1_summary(e))


def test_the_progress_names_the_phase_and_counts_its_epochs(panel):
    readout = panel.readout
    start_m1m2(panel)
    assert panel.progress.format() == "M1 epoch 1/30"
    said = panel.status.toolTip()  # (all of the status line's text)
    assert "M1 (the VAE under M2), 30 epochs, then M2, 1 epoch" in said
    run_m1(panel, 11)
    panel.on_batch(BatchMetrics(12, 300, M1_BATCHES, 105.0, 78.4, 27.05, 34_860.0))
    assert panel.progress.format().startswith("M1 epoch 12/30 · batch 300/600 · ETA ")
    assert readout.epoch_text(12) == "M1 epoch: 12/30"
    # M1 is a VAE: its second term is the reconstruction; the views wait for M2
    text = panel.status.toolTip()
    assert text.startswith("M1: loss 105.0 · recon 78.4 · KL 27.05") and "labelled" not in text
    assert "Views show M2, untrained until its first epoch ends" in text
    # the bar counts the run in M2's batches: 11.5 of 31 epochs done
    assert panel.progress.value() == round(11.5 * M2_BATCHES)
    assert panel.progress.maximum() == (M1 + M2) * M2_BATCHES
    run_m1(panel)
    panel.on_batch(BatchMetrics(M1 + 1, 100, M2_BATCHES, 38.0, 35.0, 3.0, 20_000.0))
    assert panel.progress.format().startswith("M2 epoch 1/1 · batch 100/599 · ETA ")
    assert readout.epoch_text(M1 + 1) == "M2 epoch: 1/1"
    text = panel.status.toolTip()
    assert "labelled 35.0" in text and not text.startswith("M1")
    assert "Views show M2, untrained until its first epoch ends" in text  # (M2's first snapshot ends it)
    panel.on_epoch(m2_summary(1))
    assert "views show" not in panel.status.toolTip()
    panel.on_done(stopped=False, epochs=M2, failed=False)
    assert panel.progress.format() == "finished: M1 30 epochs, M2 1 epoch"
    assert panel.progress.value() == panel.progress.maximum()


def test_a_run_stopped_during_m1_says_m2_never_trained(panel):
    start_m1m2(panel)
    run_m1(panel, 12)
    panel.on_batch(BatchMetrics(13, 300, M1_BATCHES, 105.0, 78.4, 27.05, 34_860.0))
    panel.on_done(stopped=True, epochs=0, failed=False)
    assert panel.progress.format() == "stopped: M1 12 epochs, M2 0 epochs"
    assert "M2 never trained" in panel.status.toolTip()


def test_the_start_buttons_m1m2_job_gives_the_phases(panel):
    """Fed by a controller that passes no M1 epochs, the panel takes the asked job's."""
    panel.kind.setCurrentIndex(panel.kind.findData("m1m2"))
    asked = []
    panel.startRequested.connect(asked.append)
    panel._on_start_clicked()
    assert asked and asked[0].m1_epochs_to_run == 30
    epochs = asked[0].train_config.epochs
    panel.on_started(TrainingStarted("cpu", 30 + epochs, M2_BATCHES, 60_000))
    assert panel.progress.format() == "M1 epoch 1/30"
    assert panel.curves.phases.at == 30


def test_the_curves_mark_where_m2_starts(panel):
    curves = panel.curves
    start_m1m2(panel)
    curves.redraw()
    lines = curves.phases.lines
    assert curves.phases.at == M1 and all(line.value() == M1 for line in lines)
    assert lines[0].isVisible() and lines[1].isVisible()  # (the error plot shows later)
    assert lines[0].label is not None and lines[0].label.toPlainText() == "M2 starts"
    legend = [label.text for _, label in curves.legend.items]
    assert "recon / labelled" in legend  # M1's reconstruction, then M2's labelled -ELBO
    run_m1(panel)
    panel.on_batch(BatchMetrics(M1 + 1, 599, M2_BATCHES, 38.0, 35.0, 3.0, 20_000.0))
    curves.redraw()
    x0, x1 = curves.nats_plot.vb.viewRange()[0]
    assert x0 <= M1 <= x1  # the line is in view once the run is past it
    # a new run (a VAE's) has no phases
    panel._on_training_changed(True)
    assert curves.phases.at is None and not any(line.isVisible() for line in lines)
    panel.on_started(TrainingStarted("cpu", 2, 10, 1000), 0)
    assert curves.phases.at is None and panel.progress.format() == "epoch 1/2"
    legend = [label.text for _, label in curves.legend.items]
    assert "recon / labelled" not in legend


def test_a_loaded_m1m2_history_marks_where_m2_starts(panel):
    curves = panel.curves
    history = [{**m1_summary(e).record(), "phase": "m1"} for e in range(1, M1 + 1)]
    history += [{**m2_summary(e).record(), "phase": "m2", "test_error": 0.2} for e in (1, 2)]
    curves.set_history(history)
    assert curves.phases.at == M1 and curves.phases.lines[0].isVisible()
    curves.set_history(history[M1:])  # M2 on a given M1: no M1 epochs of its own
    assert curves.phases.at is None and not curves.phases.lines[0].isVisible()


@pytest.mark.parametrize("bad", [10**400, float("inf"), float("nan"), "3", True])
def test_a_hostile_m1_epoch_in_a_saved_history_is_left_out(panel, bad):
    """A checkpoint's history may hold anything: an epoch no float can hold raised in the
    window (OverflowError), an infinite one put the marker at infinity."""
    history = [{**m1_summary(e).record(), "phase": "m1"} for e in range(1, M1 + 1)]
    history[-1]["epoch"] = bad
    history += [{**m2_summary(e).record(), "phase": "m2", "test_error": 0.2} for e in (1, 2)]
    panel.curves.set_history(history)
    assert panel.curves.phases.at == M1 - 1


def test_a_vae_run_reads_as_before(panel):
    panel.on_started(TrainingStarted("cpu", 2, 10, 1000))
    assert panel.progress.format() == "epoch 1/2" and panel.curves.phases.at is None
    panel.on_batch(BatchMetrics(2, 5, 10, 150.0, 140.0, 5.0, 723.0))
    assert panel.progress.format().startswith("epoch 2/2 · batch 5/10") and panel.progress.value() == 15
    assert panel.readout.epoch_text(2) == "Epoch: 2/2"
    panel.on_done(False, 2, False)
    assert panel.progress.format() == "finished after 2 epochs"


def test_epochs_text_names_an_m1m2_models_phases():
    from vae_explorer.gui.window.status_bar import epochs_text

    assert epochs_text({"epochs_completed": 20}) == "Epochs: 20"
    history = [{"epoch": 1, "phase": "m1"}, {"epoch": 2, "phase": "m1"}, {"epoch": 3, "phase": "m2"}]
    meta = {"kind": "m1m2", "epochs_completed": 1, "m1_epochs": 30, "history": history}
    assert epochs_text(meta) == "Epochs: M1 2, M2 1"  # the M1 it trained
    assert epochs_text({**meta, "history": history[2:]}) == "Epochs: M1 30, M2 1"  # a given M1
    assert epochs_text({**meta, "history": [], "m1_epochs": 0}) == "Epochs: 1"  # not known


def test_window_m1m2_run_names_its_phases(window, qtbot):
    """A real M1+M2 run of 2 M1 epochs and 1 of M2 on 1,000 images."""
    t = window.training
    t.train_limit, t.torch_threads = 1000, 1
    t.kind.setCurrentIndex(t.kind.findData("m1m2"))
    t.labels.setCurrentIndex(t.labels.findData(100))
    t.epochs.setValue(1)
    t.batch_size.setValue(100)
    t.hidden_dim.setValue(32)
    seen: list[str] = []
    window.trainer.batchMetrics.connect(lambda ev: seen.append(window.epoch_label.text()))
    window.start_training(replace(t.job(), m1_epochs=2))  # the Start button's path, past the form
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=60_000)
    assert not window.trainer.failed_run, window.last_error
    assert "M1 epoch: 1/2" in seen and "M1 epoch: 2/2" in seen and seen[-1] == "M2 epoch: 1/1"
    assert t.progress.format() == "finished: M1 2 epochs, M2 1 epoch"
    assert window.epoch_label.text() == "Epochs: M1 2, M2 1"
    assert "finished (M1 2 epochs, M2 1 epoch)" in window.statusBar().currentMessage()
    assert t.curves.phases.at == 2
    t.curves.redraw()
    x0, x1 = t.curves.nats_plot.vb.viewRange()[0]
    assert x0 <= 2 <= x1
    window.state.modelChanged.emit()  # as a re-save would: the label holds
    assert window.epoch_label.text() == "Epochs: M1 2, M2 1"

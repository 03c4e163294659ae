"""The training dock alone: form -> core TrainingJob, hostile remembered values, the
readout of a run (and its average speed), and how the panel follows the state."""

from __future__ import annotations

import json
import math

import pytest
from PySide6.QtCore import Qt

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot, state):
    from vae_explorer.gui.panels import TrainingPanel

    view = TrainingPanel(state)
    qtbot.addWidget(view)
    view.resize(380, 800)
    view.show()
    qtbot.waitExposed(view)
    return view


def type_into(qtbot, spin, text: str) -> None:
    edit = spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


# --- the form -----------------------------------------------------------------------------
def test_start_sends_the_forms_run_as_a_core_training_job(panel, qtbot):
    from vae_explorer.core.training import TrainingJob

    type_into(qtbot, panel.epochs, "7")
    type_into(qtbot, panel.batch_size, "250")
    type_into(qtbot, panel.latent_dim, "3")
    panel.likelihood.setCurrentIndex(panel.likelihood.findData("gaussian"))
    panel.beta.setValue(0.5)
    panel.train_limit = 500
    with qtbot.waitSignal(panel.startRequested, timeout=1000) as signal:
        qtbot.mouseClick(panel.start_button, LEFT)
    job = signal.args[0]
    assert isinstance(job, TrainingJob)
    assert job.dataset == "mnist" and job.train_limit == 500 and job.torch_threads is None
    assert job.model_config.latent_dim == 3 and job.model_config.likelihood == "gaussian"
    c = job.train_config
    assert (c.epochs, c.batch_size, c.beta) == (7, 250, 0.5)
    assert c.log_every == 30 and c.snapshot_every == 240  # ~8 points, 1 snapshot per 60,000 images
    assert 0 < c.snapshot_seconds <= 2  # and at least every couple of seconds on a slow machine
    assert "GUI" in job.command
    assert panel.progress.format() == "loading data…"


def test_the_form_round_trips_through_settings(panel, state):
    from vae_explorer.gui.panels import TrainingPanel

    panel.epochs.setValue(13)
    panel.beta.setValue(2.5)
    panel.lr.setValue(0.0042)
    panel.arch.setCurrentIndex(panel.arch.findData("conv"))
    saved = json.loads(json.dumps(panel.form_state()))
    other = TrainingPanel(state)
    other.restore_form_state(saved)
    assert other.form_state() == panel.form_state()
    other.deleteLater()


HOSTILE = [
    float("inf"),
    -float("inf"),
    float("nan"),
    json.loads("1e400"),  # inf, as a settings file can spell it
    10**400,
    -(10**30),
    -5,
    1234.5,  # a fraction for the integer fields, out of range for the others
    "x",
    "12",
    None,
    True,
    [1, 2],
    {"a": {"b": [None]}},
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_hostile_remembered_values_are_ignored(panel, value):
    before = panel.form_state()
    keys = (
        "likelihood",
        "arch",
        "latent_dim",
        "hidden_dim",
        "epochs",
        "batch_size",
        "lr",
        "beta",
        "seed",
        "device",
    )
    panel.restore_form_state({k: value for k in keys})
    assert panel.form_state() == before
    c = panel.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0 and math.isfinite(c.lr)


@pytest.mark.parametrize("junk", [None, "x", [1, 2], 3, {"epochs": {"nested": [1]}}], ids=repr)
def test_a_remembered_form_that_is_not_a_form_is_ignored(panel, junk):
    before = panel.form_state()
    panel.restore_form_state(junk)
    assert panel.form_state() == before


def test_good_values_beside_bad_ones_are_restored(panel):
    panel.restore_form_state(
        {"epochs": 9, "lr": float("nan"), "beta": 3, "batch_size": 1e9, "likelihood": "gaussian"}
    )
    assert panel.epochs.value() == 9 and panel.beta.value() == 3.0 and panel.batch_size.value() == 100
    assert panel.likelihood.currentData() == "gaussian"


# --- following the state ------------------------------------------------------------------
def run_events(panel, epochs=2, batches=4):
    """Feed the panel the events of a short run, as the window's controller does."""
    from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainingStarted

    panel.on_started(TrainingStarted("cpu", epochs, batches, 400))
    for e in range(1, epochs + 1):
        for b in range(1, batches + 1):
            panel.on_batch(BatchMetrics(e, b, batches, 200.0 - b, 190.0, 5.0, 723.0))
        panel.on_epoch(EpochSummary(e, epochs, 190, 180, 5, -185.0, 180, 5, 0.1, 1e-3))


def test_an_opened_model_fills_the_form_and_clears_the_last_runs_readout(panel, state, make_model):
    state.set_training(True)
    run_events(panel)
    state.set_model(make_model(4), {}, None)  # the run's final model (training still on)
    state.set_training(False)
    panel.on_done(False, 2, False)
    assert panel.progress.format() == "finished after 2 epochs" and "img/s" in panel.status.text()
    state.mark_saved("/tmp/run.safetensors")  # saving is not a new model: the readout stays
    assert panel.progress.format() == "finished after 2 epochs"
    opened = make_model(5, latent_dim=3)
    state.set_model(
        opened, {"train_config": {"epochs": 7, "lr": 0.002, "beta": 0.5, "batch_size": "x"}}, None
    )
    assert panel.progress.format() == "idle" and panel.status.text() == ""
    assert panel.latent_dim.value() == 3 and panel.epochs.value() == 7
    assert panel.lr.value() == 0.002 and panel.beta.value() == 0.5 and panel.batch_size.value() == 100


def test_snapshots_while_training_leave_the_form_alone(panel, state, make_model):
    state.set_training(True)
    panel.epochs.setValue(3)
    state.set_model(make_model(6), {"train_config": {"epochs": 99}}, None, live=True)
    assert panel.epochs.value() == 3


def test_the_buttons_follow_the_training_state(panel, state, qtbot):
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    state.set_training(True)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert not panel.epochs.isEnabled() and panel.progress.format() == "loading data…"
    with qtbot.waitSignal(panel.pauseRequested) as paused:
        qtbot.mouseClick(panel.pause_button, LEFT)
    assert paused.args == [True] and panel.pause_button.text() == "Resume"
    with qtbot.waitSignal(panel.stopRequested):
        qtbot.mouseClick(panel.stop_button, LEFT)
    state.set_training(False)
    assert panel.start_button.isEnabled() and panel.pause_button.text() == "Pause"
    assert not panel.pause_button.isChecked() and panel.epochs.isEnabled()


def test_the_dataset_combo_asks_and_then_shows_the_states_dataset(
    panel, state, qtbot, small_test_set, tmp_path
):
    from vae_explorer.core.data import Dataset

    panel.dataset.setFocus()
    with qtbot.waitSignal(panel.datasetRequested) as request:
        qtbot.keyClick(panel.dataset, Qt.Key.Key_Down)
    assert request.args == ["fashion-mnist"]
    assert panel.dataset.currentData() == "mnist"  # nobody loaded it: the state's stays shown
    folder = tmp_path / "my-digits"
    copy = Dataset("custom", "test", small_test_set.images, small_test_set.labels, small_test_set.classes)
    state.set_dataset(str(folder), copy)
    assert panel.dataset.currentData() == str(folder) and panel.dataset.currentText() == "Folder: my-digits"


def test_an_opened_models_history_fills_the_curves_but_not_during_a_run(panel, state):
    state.set_history(
        [{"epoch": 1, "train_loss": 190.0, "test_elbo": -185.0}, {"epoch": 2, "train_loss": 170.0}]
    )
    x, y = panel.curves.series("loss")
    assert list(x) == [1, 2] and list(y) == [190.0, 170.0]
    assert list(panel.curves.series("test")[1]) == [185.0]
    state.set_training(True)
    run_events(panel, epochs=1)
    state.set_history([{"epoch": 1, "train_loss": 1.0}])  # a snapshot's history: the live curves stay
    assert panel.curves.series("loss")[0].size == 4


def test_the_speed_after_a_run_is_the_runs_average_without_pauses(panel, monkeypatch):
    """Issue 9 item 6: not the last batch window's speed (723 img/s here)."""
    import vae_explorer.gui.panels.training_readout as readout
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    clock = [100.0]
    monkeypatch.setattr(readout.time, "perf_counter", lambda: clock[0])
    panel.on_started(TrainingStarted("cpu", 2, 10, 1000))  # 100 images per batch
    clock[0] = 101.0
    panel.on_batch(BatchMetrics(1, 5, 10, 150.0, 140.0, 5.0, 723.0))
    assert "723 img/s" in panel.status.text()  # while it runs: the latest window's speed
    panel.pause_button.setEnabled(True)
    panel.pause_button.setChecked(True)
    assert panel.progress.format() == "epoch 1/2 · batch 5/10 · paused"  # no ETA while paused
    assert panel.status.text() == "loss 150.0 · recon 140.0 · KL 5.00"  # nor a speed
    clock[0] = 131.0  # 30 s paused
    panel.pause_button.setChecked(False)
    assert panel.progress.format().startswith("epoch 1/2 · batch 5/10 · ETA ")
    clock[0] = 134.0
    panel.on_batch(BatchMetrics(2, 10, 10, 120.0, 110.0, 5.0, 723.0))
    panel.on_done(False, 2, False)
    # 2,000 images in 4 s of training (34 s of wall time less 30 s of pause)
    assert panel.status.text() == "loss 120.0 · recon 110.0 · KL 5.00 · 500 img/s on average"
    assert panel.progress.format() == "finished after 2 epochs"
    assert panel.progress.value() == panel.progress.maximum()


def test_a_pause_while_the_data_loads_holds_when_the_run_starts(panel, state, monkeypatch):
    """Pause pressed before the run's first event: the bar and the status line say paused
    (the start message did not overwrite it) and the pause is not counted as run time."""
    import vae_explorer.gui.panels.training_readout as readout
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    clock = [100.0]
    monkeypatch.setattr(readout.time, "perf_counter", lambda: clock[0])
    for run in range(2):  # the second: after a run that ended while paused
        panel.readout.loading()
        state.set_training(True)
        panel.pause_button.setChecked(True)
        clock[0] += 1.0
        panel.on_started(TrainingStarted("cpu", 2, 10, 1000))
        assert panel.progress.format() == "epoch 1/2 · paused", run
        assert "Paused before the first batch" in panel.status.text()
        clock[0] += 60.0  # a minute paused
        panel.pause_button.setChecked(False)
        assert panel.progress.format() == "epoch 1/2"
        clock[0] += 2.0
        panel.on_batch(BatchMetrics(1, 10, 10, 150.0, 140.0, 5.0, 723.0))
        clock[0] += 2.0
        panel.on_batch(BatchMetrics(2, 10, 10, 120.0, 110.0, 5.0, 723.0))
        panel.pause_button.setChecked(True)  # paused again, then stopped: Pause unchecks silently
        panel.on_done(True, 2, False)
        state.set_training(False)
        # 2,000 images in 4 s of training, not in the 64 s since the start
        assert panel.status.text().endswith("· 500 img/s on average"), run


@pytest.mark.parametrize(
    "field, typed, used, phrase, good",
    [
        ("lr", "100", 1.0, "largest allowed value, 1,", "0.002"),
        ("batch_size", "0", 1, "smallest allowed value, 1,", "64"),
    ],
)
def test_a_typed_value_out_of_range_is_pulled_in_and_said(qtbot, field, typed, used, phrase, good):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from vae_explorer.gui.panels.training_form import TrainingForm

    form = TrainingForm()
    qtbot.addWidget(form)
    form.show()
    spin = getattr(form, field)
    assert "Allowed:" in spin.toolTip()
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, typed)
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == used
    assert form.range_note.isVisible() and phrase in form.range_note.text(), form.range_note.text()
    spin.selectAll()
    QTest.keyClicks(spin, good)
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == float(good) and not form.range_note.isVisible()


def test_a_long_status_line_wraps_instead_of_widening_the_dock(panel, qtbot):
    """A run's status line (device, images, speed, test error) is longer than the dock is
    wide: it wraps; the panel's minimum width stays what the form needs."""
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    before = panel.minimumSizeHint().width()
    panel.on_started(TrainingStarted("cpu", 50, 600, 60_000))
    panel.on_batch(BatchMetrics(12, 345, 600, 160.51, 154.83, 5.67, 17_566.0))
    panel.on_done(stopped=True, epochs=12, failed=False)  # "... img/s on average"
    assert panel.status.fontMetrics().horizontalAdvance(panel.status.text()) > 330
    assert panel.minimumSizeHint().width() <= max(before, 330)
    assert panel.status.minimumSizeHint().width() < 300


def test_the_status_line_has_two_lines_and_no_height_for_width(panel, qtbot):
    """A new status several times a second must not make the layouts recompute heights
    through the dock (height-for-width): the line has room for two lines of text instead."""
    from PySide6.QtCore import QRect

    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    assert not panel.status.hasHeightForWidth()
    panel.on_started(TrainingStarted("cpu", 50, 600, 60_000))
    panel.on_batch(BatchMetrics(12, 345, 600, 160.51, 154.83, 5.67, 17_566.0))
    panel.resize(300, panel.height())  # the dock's width in a 1024 x 700 window
    status, wrap = panel.status, int(Qt.TextFlag.TextWordWrap)
    for done in (False, True):
        if done:
            panel.on_done(stopped=True, epochs=12, failed=False)  # the longer "on average" line
        qtbot.wait(20)
        needed = status.fontMetrics().boundingRect(QRect(0, 0, status.width(), 10_000), wrap, status.text())
        assert needed.height() <= status.height(), status.text()


def test_the_status_line_never_sizes_the_dock_by_its_width(panel):
    """QLabel turns height-for-width back on at each setText: it must stay off, or the
    dock's scroll area sizes the panel by it (a scroll bar at 1400 x 900 once a run starts)
    and each status recomputes the whole dock's layout."""
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    panel.on_started(TrainingStarted("cpu", 2, 10, 1000))
    panel.on_batch(BatchMetrics(1, 5, 10, 150.0, 140.0, 5.0, 723.0))
    assert "img/s" in panel.status.text()
    assert not panel.status.hasHeightForWidth() and not panel.layout().hasHeightForWidth()


def test_an_m1m2_run_counts_its_epochs_across_both_phases(panel):
    """30 epochs of M1 (600 batches each) then 10 of M2 (599): "epoch 2/40", not /39."""
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    panel.on_started(TrainingStarted("cpu", 40, 599, 59_900))
    panel.on_batch(BatchMetrics(2, 100, 600, 150.0, 140.0, 5.0, 700.0))  # in M1
    assert panel.progress.format().startswith("epoch 2/40 · batch 100/600")


def test_the_eta_is_paced_from_the_first_batch_not_from_the_start(panel, monkeypatch):
    """The first ETA of a run read 6:41:34: the time to load the data and warm up counted
    as if every batch would take as long."""
    import vae_explorer.gui.panels.training_readout as readout
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    clock = [100.0]
    monkeypatch.setattr(readout.time, "perf_counter", lambda: clock[0])
    panel.on_started(TrainingStarted("cpu", 10, 100, 10_000))  # 1,000 batches
    clock[0] = 110.0  # 10 s before the first batch's event
    panel.on_batch(BatchMetrics(1, 1, 100, 150.0, 140.0, 5.0, 10.0))
    assert panel.progress.format().endswith("ETA --")  # no pace yet
    clock[0] = 111.0  # then 100 batches a second
    panel.on_batch(BatchMetrics(2, 1, 100, 150.0, 140.0, 5.0, 10_000.0))
    assert panel.progress.format() == "epoch 2/10 · batch 1/100 · ETA 0:09"  # 899 batches left


def test_every_row_name_and_field_of_the_form_has_a_tooltip(qtbot):
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QFormLayout, QLabel

    from vae_explorer.gui.panels.training_form import TrainingForm

    form = TrainingForm()
    qtbot.addWidget(form)
    layout = form.layout()
    assert isinstance(layout, QFormLayout)
    names = [layout.itemAt(r, QFormLayout.ItemRole.LabelRole) for r in range(layout.rowCount())]
    labels = [item.widget() for item in names if item is not None and isinstance(item.widget(), QLabel)]
    assert len(labels) >= 12
    assert all(label.toolTip() for label in labels), [la.text() for la in labels if not la.toolTip()]
    fields = form.findChildren(QComboBox) + form.findChildren(QAbstractSpinBox)
    assert all(f.toolTip() for f in fields), [type(f).__name__ for f in fields if not f.toolTip()]


def test_a_run_stopped_mid_epoch_says_which_epoch_it_stopped_in(panel):
    """ "stopped after 2 epochs" beside curves running on to 2.9: the weights kept have most
    of the third epoch too."""
    from vae_explorer.core.training import BatchMetrics, TrainingStarted

    panel.on_started(TrainingStarted("cpu", 5, 10, 1000))
    for epoch in (1, 2, 3):
        panel.on_batch(BatchMetrics(epoch, 10 if epoch < 3 else 9, 10, 150.0, 140.0, 5.0, 723.0))
    panel.on_done(True, 2, False)
    assert panel.progress.format() == "stopped in epoch 3 (2 complete)"
    panel.on_started(TrainingStarted("cpu", 5, 10, 1000))
    panel.on_batch(BatchMetrics(1, 10, 10, 150.0, 140.0, 5.0, 723.0))
    panel.on_done(True, 1, False)  # stopped at an epoch's end
    assert panel.progress.format() == "stopped after 1 epoch"


def test_the_focus_goes_to_the_button_that_now_acts_not_to_smooth(panel, qtbot):
    """Start, disabled as the run starts, passed the focus on to "Smooth": a Space then
    toggled the curves' smoothing."""
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.start_button.setFocus()
    qtbot.waitUntil(panel.start_button.hasFocus, timeout=2000)
    panel.set_running(True)
    assert panel.pause_button.hasFocus()
    panel.stop_button.setFocus()
    panel.set_running(False)
    assert panel.start_button.hasFocus()

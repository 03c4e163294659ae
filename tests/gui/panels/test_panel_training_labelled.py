"""The training dock with a labelled model: kind and label count in the form, a labelled run
through the controller (same Worker route as a VAE's), its test error curve, and saving."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def panel(qtbot, state):
    from vae_explorer.gui.panels import TrainingPanel

    view = TrainingPanel(state)
    qtbot.addWidget(view)
    view.show()
    return view


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_form_offers_kinds_and_label_counts_with_tooltips(panel):
    from vae_explorer.core.labelled import LabelledJob
    from vae_explorer.core.training import TrainingJob

    kinds = [panel.kind.itemData(i) for i in range(panel.kind.count())]
    labels = [panel.labels.itemData(i) for i in range(panel.labels.count())]
    assert kinds == ["vae", "m2", "m1m2"]
    assert labels == [100, 600, 1000, 3000, "all"]
    for i in range(panel.kind.count()):
        assert panel.kind.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert "balanced" in panel.labels.toolTip()
    assert isinstance(panel.job(), TrainingJob) and not panel.labels.isEnabled()
    assert not panel.classifier_dropout.isEnabled() and "by heart" in panel.classifier_dropout.toolTip()
    choose(panel.kind, "m2")
    choose(panel.labels, 600)
    assert panel.labels.isEnabled() and not panel.arch.isEnabled() and not panel.beta.isEnabled()
    assert panel.classifier_dropout.isEnabled() and panel.classifier_dropout.text() == "no dropout"
    job = panel.job()
    assert isinstance(job, LabelledJob)
    assert (job.model_config.kind, job.labels, job.model_config.latent_dim) == ("m2", 600, 2)
    assert job.model_config.classifier_dropout == 0.0
    panel.classifier_dropout.setValue(0.5)
    assert panel.job().model_config.classifier_dropout == 0.5
    assert not panel.m1_epochs.isVisibleTo(panel)  # M2 alone trains no M1
    assert panel.job().m1_epochs_to_run == 0
    choose(panel.kind, "m1m2")
    choose(panel.labels, "all")
    assert panel.m1_epochs.isVisibleTo(panel) and panel.m1_epochs.isEnabled()
    assert panel.m1_epochs.value() == LabelledJob.m1_epochs and "M1" in panel.m1_epochs.toolTip()
    panel.m1_epochs.setValue(3)
    job = panel.job()
    assert job.model_config.kind == "m1m2" and job.labels is None and job.m1_epochs_to_run == 3
    assert "M1 3 epochs" in panel.form.summary()
    # locked while training, then only the fields that apply come back
    panel.set_running(True)
    assert not panel.kind.isEnabled() and not panel.labels.isEnabled() and not panel.m1_epochs.isEnabled()
    assert not panel.classifier_dropout.isEnabled()
    panel.set_running(False)
    assert panel.kind.isEnabled() and panel.labels.isEnabled() and not panel.beta.isEnabled()
    assert panel.classifier_dropout.isEnabled() and panel.m1_epochs.isEnabled()
    choose(panel.kind, "vae")
    assert not panel.m1_epochs.isVisibleTo(panel) and "M1" not in panel.form.summary()


def test_form_state_round_trips_kind_and_labels(panel, state):
    from vae_explorer.gui.panels import TrainingPanel

    choose(panel.kind, "m2")
    choose(panel.labels, 3000)
    panel.classifier_dropout.setValue(0.3)
    panel.m1_epochs.setValue(12)
    saved = panel.form_state()
    other = TrainingPanel(state)
    other.restore_form_state(saved)
    assert other.kind.currentData() == "m2" and other.labels.currentData() == 3000
    assert other.classifier_dropout.value() == pytest.approx(0.3) and other.m1_epochs.value() == 12
    other.restore_form_state({"kind": "nonsense", "labels": 7})  # damaged settings: ignored
    assert other.kind.currentData() == "m2" and other.labels.currentData() == 3000
    other.deleteLater()


def test_curves_show_the_test_error_of_a_labelled_history(panel, state):
    curves = panel.curves
    assert not curves.error_plot.isVisible()
    history = [
        {"epoch": 1, "phase": "m1", "train_loss": 200.0},
        {"epoch": 2, "phase": "m2", "train_loss": 150.0, "test_error": 0.25},
        {"epoch": 3, "phase": "m2", "train_loss": 140.0, "test_error": 0.125},
    ]
    state.set_history(history)
    x, y = curves.series("error")
    np.testing.assert_allclose(x, [2, 3])
    np.testing.assert_allclose(y, [25.0, 12.5])
    assert curves.error_plot.isVisible()
    # No KL in a labelled history: no empty KL plot; the error plot carries the epoch axis.
    assert not curves.kl_plot.isVisible()
    assert (
        curves.error_plot.getAxis("bottom").isVisible() and not curves.nats_plot.getAxis("bottom").isVisible()
    )
    assert curves.error_plot.getAxis("bottom").labelText == "epoch"
    state.set_history([{"epoch": 1, "train_loss": 3.0, "train_kl": 5.0, "test_elbo": -100.0}])  # a VAE's
    assert curves.series("error")[0].size == 0 and not curves.error_plot.isVisible()
    assert curves.kl_plot.isVisible() and curves.kl_plot.getAxis("bottom").isVisible()
    assert not curves.nats_plot.getAxis("bottom").isVisible()
    curves.clear_data()  # a run: its KL comes per batch
    curves.redraw()
    assert curves.kl_plot.isVisible()


def test_labelled_run_trains_in_the_background_and_becomes_the_state_model(panel, state, qtbot, tmp_path):
    from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
    from vae_explorer.gui.labelled import ExplorerLabelledModel
    from vae_explorer.gui.window.training_controller import TrainingController

    controller = TrainingController(state)
    panel.startRequested.connect(controller.start)
    controller.started.connect(panel.on_started)
    controller.batchMetrics.connect(panel.on_batch)
    controller.epochFinished.connect(panel.on_epoch)
    controller.done.connect(lambda ev: panel.on_done(ev.stopped, ev.epochs_completed, controller.failed_run))
    choose(panel.kind, "m2")
    choose(panel.labels, 100)
    panel.hidden_dim.setValue(32)
    panel.epochs.setValue(2)
    panel.train_limit, panel.torch_threads = 600, 1
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert controller.is_running() and not panel.kind.isEnabled()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=120_000)
    assert not controller.failed_run
    model = state.model
    assert isinstance(model, ExplorerLabelledModel) and model.kind == "m2"
    assert state.model_meta["labels"] == 100 and state.model_arrays["labelled_indices"].shape == (100,)
    x, y = panel.curves.series("error")
    assert x.size == 2 and np.all((y >= 0) & (y <= 100))
    assert panel.curves.error_plot.isVisible()
    assert f"test error {y[-1]:.2f}%" in panel.status.text() and "labelled" in panel.status.text()
    legend = [label.text for _, label in panel.curves.legend.items]
    assert "labelled −ELBO" in legend and "reconstruction" not in legend
    # the scatter's latents are the style codes under the predicted labels
    mu = model.encode(state.test_set.images)[0].numpy()
    np.testing.assert_allclose(state.latents[0], mu, atol=1e-4)
    # views that decode a code without a class get the shown class's digit
    images = state.decode(np.zeros((1, 2), np.float32))
    np.testing.assert_allclose(images[0].reshape(-1), model.decode(np.zeros((1, 2)), 0)[0].numpy(), atol=1e-6)
    # saving (as the window's Save does) writes a labelled checkpoint
    path = save_checkpoint(model, tmp_path / "m2.safetensors", state.model_meta, arrays=state.model_arrays)
    ckpt = load_checkpoint(path)
    assert ckpt.kind == "m2" and ckpt.metadata["labels"] == 100
    np.testing.assert_array_equal(ckpt.arrays["labelled_indices"], state.model_arrays["labelled_indices"])


def test_form_is_filled_from_a_labelled_models_config(panel):
    from vae_explorer.core.labelled import LabelledConfig

    panel.form.set_model_config(LabelledConfig("m1m2", 50, classifier_dropout=0.5), {"epochs": 30}, 1000, 7)
    assert panel.kind.currentData() == "m1m2" and panel.labels.currentData() == 1000
    assert panel.m1_epochs.value() == 7
    assert panel.classifier_dropout.value() == pytest.approx(0.5) and panel.epochs.value() == 30
    assert panel.classifier_dropout.text() == "0.50 dropout"
    panel.form.set_model_config(LabelledConfig("m1m2", 50), {"epochs": 30}, 1000, "junk")
    assert panel.m1_epochs.value() == 7  # an odd record leaves the field as it was

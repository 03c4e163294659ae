"""The history timeline alone: scrubbing moves the scrub's latents and weights, play runs
to the end and returns to live, a new model without history says so."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt

from vae_explorer.core.history import HistoryRecorder
from vae_explorer.core.latent import encode_images
from vae_explorer.gui.history_scrub import HistoryScrub
from vae_explorer.gui.panels.timeline import STEPS_PER_EPOCH, TimelinePanel


def history_arrays(make_model, test_set, epochs: int = 4, latent_dim: int = 2):
    """A recorded run: epoch e has model seed e's weights and latents."""
    weight_bytes = sum(v.numel() * 4 for v in make_model(1, latent_dim).state_dict().values())
    recorder = HistoryRecorder(epochs, len(test_set), latent_dim, weight_bytes)
    models = {}
    for e in range(1, epochs + 1):
        model = make_model(e, latent_dim)
        mu, logvar = encode_images(model, test_set.images)
        recorder.record(e, model.state_dict(), mu, logvar)
        models[e] = model
    return recorder.arrays(), models


def show_history(state, make_model, small_test_set, epochs: int = 4):
    arrays, models = history_arrays(make_model, small_test_set, epochs)
    last = models[epochs]
    state.set_model(last, {}, None, arrays=arrays)
    return models


def test_scrubbing_moves_latents_and_weights(qtbot, state, make_model, small_test_set):
    scrub = HistoryScrub(state)
    panel = TimelinePanel(scrub)
    qtbot.addWidget(panel)
    models = show_history(state, make_model, small_test_set)
    assert scrub.first == 1 and scrub.last == 4
    assert scrub.epoch is None and scrub.latents() is None
    assert panel.slider.value() == panel.slider.maximum()  # live sits at the end

    with qtbot.waitSignal(scrub.epochChanged):
        panel.set_epoch(2.0)
    assert scrub.epoch == 2.0
    expected = encode_images(models[2], small_test_set.images)[0]
    np.testing.assert_allclose(scrub.latents().mu, expected, atol=2e-2)  # float16 history
    # Between two epochs the points are interpolated.
    panel.set_epoch(2.5)
    mid = (
        encode_images(models[2], small_test_set.images)[0]
        + encode_images(models[3], small_test_set.images)[0]
    ) / 2
    np.testing.assert_allclose(scrub.latents().mu, mid, atol=2e-2)
    assert "Epoch 2.5 / 4" in panel.epoch_label.text()
    # The decoder uses the weights kept at or before 2.5: epoch 2's.
    assert scrub.weights_epoch() == 2
    assert "decoded with epoch 2's weights" in panel.weights_label.text()
    z = np.array([[0.3, -0.2]], np.float32)
    from vae_explorer.core.latent import decode_latents

    np.testing.assert_allclose(scrub.decode(z), decode_latents(models[2], z), atol=5e-3)
    assert not np.allclose(scrub.decode(z), decode_latents(models[4], z), atol=5e-3)

    panel.live_button.click()
    assert scrub.epoch is None and panel.slider.value() == panel.slider.maximum()


def test_end_of_slider_is_live_and_play_runs_to_live(qtbot, state, make_model, small_test_set):
    scrub = HistoryScrub(state)
    panel = TimelinePanel(scrub)
    qtbot.addWidget(panel)
    show_history(state, make_model, small_test_set, epochs=3)
    panel.set_epoch(1.5)
    assert scrub.epoch == 1.5
    panel.slider.setValue(panel.slider.maximum())
    assert scrub.epoch is None

    seen = []
    scrub.epochChanged.connect(lambda: seen.append(scrub.epoch))
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_Space)  # Space plays while the panel has the focus
    assert panel.playing
    qtbot.waitUntil(lambda: not panel.playing, timeout=10_000)
    assert scrub.epoch is None  # the end of the run is the model as it is now
    epochs = [t for t in seen if t is not None]
    assert epochs[0] == 1.0 and len(epochs) > 5 and epochs == sorted(epochs)


def test_model_without_history_says_so(qtbot, state, make_model, small_test_set):
    scrub = HistoryScrub(state)
    panel = TimelinePanel(scrub)
    qtbot.addWidget(panel)
    assert not panel.live_button.isEnabled()  # no history from the start: nothing but live
    show_history(state, make_model, small_test_set)
    panel.set_epoch(2)
    state.set_model(make_model(9), {}, None)  # another model, no history
    assert scrub.history is None and scrub.epoch is None
    assert not panel.slider.isEnabled() and not panel.play_button.isEnabled()
    assert not panel.live_button.isEnabled()  # nothing but live to show
    assert "No training history" in panel.epoch_label.text()


def test_run_in_progress_keeps_a_scrubbed_epoch(qtbot, state, make_model, small_test_set):
    """During training each snapshot brings a longer history; scrubbing back stays put."""
    scrub = HistoryScrub(state)
    panel = TimelinePanel(scrub)
    qtbot.addWidget(panel)
    state.set_training(True)
    arrays, models = history_arrays(make_model, small_test_set, epochs=2)
    state.set_model(models[2], {}, None, live=True, arrays=arrays)
    panel.set_epoch(1.0)
    arrays, models = history_arrays(make_model, small_test_set, epochs=3)
    state.set_model(models[3], {}, None, live=True, arrays=arrays)
    assert scrub.last == 3 and scrub.epoch == 1.0
    assert panel.slider.maximum() == 3 * STEPS_PER_EPOCH
    assert panel.slider.value() == STEPS_PER_EPOCH
    torch.manual_seed(0)


def test_exported_gif_has_a_frame_per_step_and_cancel_leaves_nothing(
    qtbot, tmp_path, make_model, small_test_set
):
    import imageio.v2 as imageio

    from vae_explorer.core.figures import frame_epochs
    from vae_explorer.core.history import TrainingHistory
    from vae_explorer.gui.window.animation_export import AnimationExporter

    arrays, _ = history_arrays(make_model, small_test_set, epochs=3)
    history = TrainingHistory.from_arrays(arrays)
    exporter = AnimationExporter()
    steps = []
    exporter.progress.connect(lambda done, total: steps.append((done, total)))
    out = tmp_path / "run.gif"
    with qtbot.waitSignal(exporter.finished, timeout=30_000):
        assert exporter.start(history, small_test_set.labels, out, fps=5)
    frames = len(frame_epochs(history, 2))
    assert len(imageio.mimread(out)) == frames == 7
    assert steps[-1] == (frames, frames)

    cancelled = tmp_path / "cancelled.gif"
    errors = []
    exporter.failed.connect(errors.append)
    exporter.progress.connect(lambda done, total: exporter.cancel())
    with qtbot.waitSignal(exporter.finished, timeout=30_000):
        exporter.start(history, small_test_set.labels, cancelled)
    assert "cancelled" in errors[0]
    assert not cancelled.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["run.gif"]


def test_the_export_progress_keeps_its_text_on_one_line(qtbot, state):
    """Squeezed by the row, the bar's "Exporting: frame 37 of 37" wrapped onto two lines,
    both cut."""
    from PySide6.QtWidgets import QApplication

    panel = TimelinePanel(HistoryScrub(state))
    qtbot.addWidget(panel)
    panel.resize(520, 90)  # the timeline dock's width at 1024 x 700
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_progress(37, 1200)
    QApplication.processEvents()
    text = panel.progress.text()
    assert text == "Exporting frame 37 of 1200"
    assert panel.progress.width() >= panel.progress.fontMetrics().horizontalAdvance(text) + 8

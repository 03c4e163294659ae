"""The style-analogy dock alone: a labelled model's style of the canvas drawing, of a picked
test image or of the current z, drawn as every digit; live while painting; a VAE is told
plainly that it needs a labelled model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from vae_explorer.core.framing import frame_like_mnist


@pytest.fixture
def analogy(qtbot, state):
    from vae_explorer.gui.panels.analogy import AnalogyPanel

    view = AnalogyPanel(state)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.shutdown()


def expected_rows(model, image=None, z=None, label=None):
    """The style drawn as every digit, computed without the GUI (core's API only)."""
    if z is None:
        y = int(model.classify(image[None])[0]) if label is None else label
        z = model.encode(image[None], y)[0][0].numpy()
    zs = np.repeat(np.asarray(z, np.float32)[None], 10, axis=0)
    return model.decode(zs, torch.arange(10)).numpy().reshape(10, 28, 28)


def wait_idle(qtbot, view):
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=10_000)


def test_a_vae_is_told_it_needs_a_labelled_model(analogy, state):
    assert analogy.message.isVisible() and "labelled model" in analogy.message.text()
    assert not analogy.row_view.isVisible() and analogy.rows is None
    assert not any(f.isVisible() for f in analogy._fields)  # no labels beside nothing


def test_picked_test_image_and_clicked_style_show_every_digit(analogy, state, labelled_model, qtbot):
    state.set_model(labelled_model, {}, None)
    assert not analogy.message.isVisible() and analogy.row_view.isVisible()
    assert all(f.isVisible() for f in analogy._fields)
    assert analogy.label_combo.count() == 11
    state.set_picked_index(7)
    assert analogy.source() == "test"
    wait_idle(qtbot, analogy)
    image = state.test_set.images[7].reshape(-1).astype(np.float32) / 255
    np.testing.assert_allclose(analogy.rows, expected_rows(labelled_model, image), atol=1e-5)
    assert "Classified as" in analogy.info.text()
    # a chosen digit instead of the classifier's guess
    analogy.label_combo.setCurrentIndex(analogy.label_combo.findData(4))
    wait_idle(qtbot, analogy)
    np.testing.assert_allclose(analogy.rows, expected_rows(labelled_model, image, label=4), atol=1e-5)
    # a click in the style space: that z as every digit
    state.set_current_z([1.5, -0.5])
    assert analogy.source() == "z"
    wait_idle(qtbot, analogy)
    np.testing.assert_allclose(analogy.rows, expected_rows(labelled_model, z=[1.5, -0.5]), atol=1e-5)
    shown = analogy.row_view.image()
    assert shown.shape == (58, 145)  # two rows of five padded digits


def test_painting_on_the_canvas_updates_the_analogy_live(analogy, state, labelled_model, qtbot):
    from vae_explorer.gui.canvas.panel import CanvasPanel

    state.set_model(labelled_model, {}, None)
    canvas = CanvasPanel(state)
    qtbot.addWidget(canvas)
    canvas.show()
    qtbot.waitExposed(canvas)
    widget = canvas.canvas

    def at(row, col):
        return widget.pixel_center(row, col).toPoint()

    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=at(5, 14))
    for r in range(6, 22):
        QTest.mouseMove(widget, at(r, 14))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=at(22, 14))
    qtbot.waitUntil(lambda: analogy.rows is not None, timeout=10_000)
    assert analogy.source() == "canvas"
    wait_idle(qtbot, analogy)
    first = analogy.rows.copy()
    framed = frame_like_mnist(state.canvas_image)  # (by default, as MNIST's digits are)
    np.testing.assert_allclose(first, expected_rows(labelled_model, framed), atol=1e-5)
    requests, before = analogy.requests, state.canvas_image.copy()
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=at(10, 6))
    for c in range(7, 22):
        QTest.mouseMove(widget, at(10, c))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=at(10, 22))
    qtbot.waitUntil(lambda: not np.array_equal(state.canvas_image, before), timeout=10_000)
    wait_idle(qtbot, analogy)
    assert analogy.requests > requests
    framed = frame_like_mnist(state.canvas_image)
    np.testing.assert_allclose(analogy.rows, expected_rows(labelled_model, framed), atol=1e-5)
    assert not np.allclose(analogy.rows, first)
    np.testing.assert_allclose(analogy.source_view.image(), framed.reshape(28, 28))  # what it reads
    # The Canvas's z (and the scatter's star) is of the drawing as drawn: the text says so.
    assert "framed like MNIST" in analogy.info.text()
    # Unframed: the drawing as it is on the canvas.
    assert analogy.frame_check.isVisible()
    analogy.frame_check.setChecked(False)
    wait_idle(qtbot, analogy)
    np.testing.assert_allclose(analogy.rows, expected_rows(labelled_model, state.canvas_image), atol=1e-5)
    assert "framed" not in analogy.info.text()
    state.set_picked_index(7)  # a test image: framed already, no choice shown
    assert analogy.source() == "test" and not analogy.frame_check.isVisible()
    assert analogy.label_combo.isEnabled()
    analogy.set_source("z")  # a point of the style space: nothing to encode
    assert not analogy.label_combo.isEnabled() and "nothing is encoded" in analogy.label_combo.toolTip()


def test_the_previous_models_style_is_never_shown_for_another_model(
    qtbot, state, labelled_model, monkeypatch
):
    """Another labelled model opened while a request runs: its result is dropped, the panel
    waits for the new model's (only snapshots of one run may show a moment-older frame)."""
    import threading
    import time

    import vae_explorer.gui.panels.analogy as analogy_module
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    real, calls, gate = analogy_module.compute_analogy, [], threading.Event()

    def slow(request):
        calls.append(request.serial)
        if len(calls) == 1:
            time.sleep(0.3)  # the first model's job, still running when the second comes
        else:
            gate.wait(10)
        return real(request)

    monkeypatch.setattr(analogy_module, "compute_analogy", slow)
    view = analogy_module.AnalogyPanel(state)
    qtbot.addWidget(view)
    state.set_model(labelled_model, {}, None)
    state.set_picked_index(7)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
    torch.manual_seed(11)
    other = ExplorerLabelledModel(
        LabelledConfig(latent_dim=2, hidden_dim=32, classifier_hidden_dim=32)
    ).eval()
    state.set_model(other, {}, None)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=5000)  # the first job has returned
    qtbot.wait(50)
    assert view.result is None  # not the first model's style
    gate.set()
    wait_idle(qtbot, view)
    image = state.test_set.images[7].reshape(-1).astype(np.float32) / 255
    np.testing.assert_allclose(view.rows, expected_rows(other, image), atol=1e-5)
    view.shutdown()


def test_framing_is_on_for_a_model_of_mnist_and_off_for_others(analogy, state, labelled_model):
    state.set_model(labelled_model, {"dataset": "mnist"}, None)
    assert analogy.frame_check.isChecked()
    state.set_model(labelled_model, {"dataset": "fashion-mnist"}, None)  # no 20 x 20 box there
    assert not analogy.frame_check.isChecked()


def test_the_caption_sits_under_the_digits_in_a_tall_dock(analogy, state, labelled_model, qtbot):
    """In a tall dock the digits floated mid-space, the caption at its foot: 100 px of
    nothing above and below them."""
    analogy.resize(360, 700)
    state.set_model(labelled_model, {}, None)
    state.set_current_z([1.5, -0.5])
    wait_idle(qtbot, analogy)
    qtbot.wait(50)
    view = analogy.row_view
    shown = view.image()
    assert view.height() <= np.ceil(view.width() * shown.shape[0] / shown.shape[1]) + 1
    assert view.target_rect().top() < 1  # the digits at the top of their room
    caption = analogy.info.mapTo(analogy, analogy.info.rect().topLeft()).y()
    assert 0 <= caption - view.geometry().bottom() < 80, (caption, view.geometry())

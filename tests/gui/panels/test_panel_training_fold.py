"""The training form folds away behind its "Settings" header, leaving a one-line summary;
a run that starts in a dock too short for the whole panel folds it so the curves get room."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def docked(qtbot, state):
    """The panel in a frameless scroll area, as the window's dock holds it."""
    from vae_explorer.gui.panels import TrainingPanel
    from vae_explorer.gui.window.docks import scrolled

    panel = TrainingPanel(state)
    scroll = scrolled(panel)
    qtbot.addWidget(scroll)
    scroll.show()
    qtbot.waitExposed(scroll)
    return panel, scroll


def test_the_header_folds_and_unfolds_the_form(docked, qtbot):
    panel, scroll = docked
    scroll.resize(360, 900)
    assert panel.settings_shown() and panel.form.isVisible() and not panel.summary.isVisible()
    qtbot.mouseClick(panel.settings_toggle, LEFT)
    assert not panel.settings_shown() and not panel.form.isVisible() and panel.summary.isVisible()
    assert panel.settings_toggle.arrowType() == Qt.ArrowType.RightArrow
    qtbot.mouseClick(panel.settings_toggle, LEFT)
    assert panel.settings_shown() and panel.form.isVisible()
    assert panel.settings_toggle.arrowType() == Qt.ArrowType.DownArrow


def test_the_summary_follows_the_form(docked):
    from vae_explorer.gui.tooltips import wrapped

    panel, _ = docked
    form = panel.form
    form.epochs.setValue(7)
    form.latent_dim.setValue(3)
    form.hidden_layers.setValue(2)
    form.hidden_dim.setValue(200)
    form.lr.setValue(0.002)
    form.likelihood.setCurrentIndex(form.likelihood.findData("gaussian"))
    text = panel.summary.text()
    assert text.startswith("VAE · MNIST digits · 784-200-200-3 tanh · squared error · 7 epochs")
    assert "lr 0.002" in text and "β 1" in text and text.endswith("CPU")
    assert panel.summary.toolTip() == wrapped(text)  # the whole line where the dock cuts it
    form.kind.setCurrentIndex(form.kind.findData("m1m2"))
    text = panel.summary.text()
    assert text.startswith("M1+M2 · 100 labels · ") and "β" not in text  # no β for M2
    form.kind.setCurrentIndex(form.kind.findData("vae"))
    form.arch.setCurrentIndex(form.arch.findData("conv"))
    assert "convolutional, latent 3" in panel.summary.text()


def test_a_run_in_a_short_dock_folds_the_form(docked, state, qtbot):
    panel, scroll = docked
    scroll.resize(360, 420)  # 1024 x 700's dock: the panel scrolls
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0, timeout=2000)
    state.set_training(True)
    assert not panel.settings_shown()
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() == 0, timeout=2000)  # all of it in view
    state.set_training(False)
    assert not panel.settings_shown()  # left as the run leaves it: the curves stay in view


def test_a_run_in_a_tall_dock_leaves_the_form_alone(docked, state, qtbot):
    panel, scroll = docked
    scroll.resize(360, 1000)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() == 0, timeout=2000)
    state.set_training(True)
    assert panel.settings_shown()
    state.set_training(False)


def test_rows_that_do_not_apply_to_the_model_are_hidden(docked):
    """The labels for a VAE, the architecture and β for a labelled model: fewer rows, so
    the form and the curves fit a 1024 x 700 window's dock better."""
    panel, _ = docked
    form = panel.form
    assert not form.labels.isVisible() and form.arch.isVisible() and form.beta.isVisible()
    form.kind.setCurrentIndex(form.kind.findData("m2"))
    assert form.labels.isVisible() and form.classifier_dropout.isVisible()
    assert not form.arch.isVisible() and not form.beta.isVisible() and not form.kl_warmup.isVisible()
    form.kind.setCurrentIndex(form.kind.findData("vae"))
    assert not form.labels.isVisible() and form.arch.isVisible() and form.kl_warmup.isVisible()

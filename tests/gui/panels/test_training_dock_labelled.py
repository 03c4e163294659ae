"""The training dock after a labelled run and between runs: the test error plot's axis label,
a fresh scale for a new run or model, the summary's room, every control's tooltip."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox


def ten_d_history(epochs: int = 30) -> list[dict]:
    """A 10-d model's history: KL 16-19 nats, -ELBO about 100."""
    return [
        {"epoch": e, "train_loss": 110.0 - e / 3, "train_kl": 16.0 + 3 * e / epochs, "test_elbo": -105.0}
        for e in range(1, epochs + 1)
    ]


def y_range(plot) -> list[float]:
    return list(plot.vb.viewRange()[1])


def test_a_new_run_drops_the_last_models_scale_before_its_first_point(panel, state):
    """The plots kept the last model's ranges (KL 16-19 of a 10-d model, 30 epochs) until
    the new run's first point came."""
    curves = panel.curves
    curves.set_history(ten_d_history())
    curves.redraw()
    assert y_range(curves.kl_plot)[0] >= 10 and curves.nats_plot.vb.viewRange()[0][1] >= 30
    panel._on_training_changed(True)  # a run starts: no event of it yet
    curves.redraw()
    x0, x1 = curves.nats_plot.vb.viewRange()[0]
    assert (x0, x1) == pytest.approx((0.0, 1.0))  # the first epoch's frame
    for plot in (curves.nats_plot, curves.kl_plot):
        lo, hi = y_range(plot)
        assert hi <= 1.0 + 1e-9 and lo >= -1e-9, (plot, lo, hi)
    curves.add_batch(0.01, 200.0, 190.0, 5.0)  # ... then the run's own scale
    curves.redraw()
    lo, hi = y_range(curves.nats_plot)
    assert lo <= 190.0 and 200.0 <= hi
    lo, hi = y_range(curves.kl_plot)
    assert lo <= 5.0 <= hi and hi < 16.0


def test_a_model_without_a_history_drops_the_last_models_scale(panel):
    curves = panel.curves
    curves.set_history(ten_d_history())
    curves.redraw()
    curves.set_history([])  # another model opened, with no history
    curves.redraw()
    assert list(curves.nats_plot.vb.viewRange()[0]) == pytest.approx([0.0, 1.0])
    assert y_range(curves.nats_plot) == pytest.approx([0.0, 1.0])


def test_the_test_error_plot_has_an_axis_label_in_a_1400_by_900_dock(panel, qtbot):
    """At the end of a labelled run its third plot showed without an axis label (too long
    for a third of the curves' height)."""
    from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainingStarted

    curves = panel.curves
    # The dock's room in a 1400 x 900 window less a window manager's frame (874 px tall).
    panel.resize(348, 818)
    curves.set_labelled(True)
    panel.readout.labelled = True
    panel.on_started(TrainingStarted("cpu", 1, 599, 59_900))
    for b in range(1, 600, 20):
        panel.on_batch(BatchMetrics(1, b, 599, 150.0 - b / 10, 140.0 - b / 10, 4.5, 4079.0))
    panel.on_epoch(EpochSummary(1, 1, 147.9, 140.0, 4.49, -150.0, 140.0, 4.6, 12.0, 3e-3))
    curves.set_test_errors([{"epoch": 1, "test_error": 0.203}])
    panel.readout.test_error = 0.203
    panel.on_done(stopped=False, epochs=1, failed=False)
    curves.redraw()
    qtbot.wait(20)
    assert curves.error_plot.isVisible()
    for plot in (curves.nats_plot, curves.kl_plot, curves.error_plot):
        label = plot.getAxis("left").label
        assert label.isVisible(), curves.axis_labels[plot]
        assert label.sceneBoundingRect().height() <= plot.vb.sceneBoundingRect().height() + 8
    # The whole summary fits its two lines, the test error before the speed.
    status, wrap = panel.status, int(Qt.TextFlag.TextWordWrap)
    text = status.text()
    assert text.index("test error 20.30%") < text.index("img/s on average")
    needed = status.fontMetrics().boundingRect(QRect(0, 0, status.width(), 10_000), wrap, text)
    assert needed.height() <= status.height(), text
    assert status.toolTip() == text  # (all of it, were it cut)


def test_the_smooth_slider_says_what_it_does(panel):
    """It had no tooltip (nor had Pause); every other control has one."""
    tip = panel.smooth_slider.toolTip()
    assert "smooth" in tip.lower() and "average" in tip
    kinds = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox)
    lacking = [
        w for kind in kinds for w in panel.findChildren(kind) if w.isVisibleTo(panel) and not w.toolTip()
    ]
    assert lacking == []

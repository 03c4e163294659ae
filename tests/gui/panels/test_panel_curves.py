"""The training curves alone: throttled redraws, the first point at once, odd histories."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def curves(qtbot):
    from vae_explorer.gui.panels import TrainingCurves

    view = TrainingCurves()
    qtbot.addWidget(view)
    return view


def drawn(curves, name: str) -> np.ndarray:
    x, _ = curves.items[name].getData()
    return np.zeros(0) if x is None else x


def test_a_burst_of_batches_is_drawn_at_once_then_at_most_10_times_a_second(curves, qtbot):
    curves.add_batch(0.01, 200.0, 190.0, 5.0)
    assert drawn(curves, "loss").size == 1  # something moves as soon as a run reports
    redraws = curves.redraws
    for i in range(2, 500):
        curves.add_batch(i / 100, 200.0 - i / 10, 190.0, 5.0)
    assert curves.redraws == redraws  # the burst waits for the throttle
    qtbot.waitUntil(lambda: drawn(curves, "loss").size == 499, timeout=2000)
    assert curves.redraws <= redraws + 2
    assert curves.series("kl")[0].size == 499 and curves.series("recon")[0].size == 499


def test_smoothing_redraws_the_batch_curves_but_not_the_test_points(curves, qtbot):
    for i in range(1, 50):
        curves.add_batch(i / 10, float(i % 2) * 10, 0.0, 1.0)
    curves.add_test(1.0, 185.0)
    curves.redraw()
    curves.set_smoothing(0.9)
    qtbot.waitUntil(lambda: np.ptp(curves.items["loss"].getData()[1][-10:]) < 5, timeout=2000)
    np.testing.assert_array_equal(curves.items["test"].getData()[1], [185.0])
    np.testing.assert_array_equal(curves.series("loss")[1][:2], [10.0, 0.0])  # raw data kept


def test_odd_history_records_are_skipped(curves):
    curves.set_history(
        [
            1,
            "a",
            None,
            {"epoch": "x"},
            {"epoch": 1, "train_loss": float("inf")},
            {"epoch": 2, "train_loss": 150.0, "train_kl": 10**400, "test_elbo": -140.0},
        ]  # fmt: skip
    )
    assert list(curves.series("loss")[1]) == [150.0]
    assert curves.series("kl")[0].size == 0 and list(curves.series("test")[1]) == [140.0]
    curves.clear_data()
    assert all(curves.series(name)[0].size == 0 for name in ("loss", "recon", "kl", "test"))
    assert drawn(curves, "loss").size == 0


def test_the_legend_never_covers_a_plot_and_axes_have_no_si_prefix(qtbot):
    from vae_explorer.gui.panels.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    for width, height in ((330, 250), (260, 180)):
        curves.resize(width, height)
        curves.show()
        qtbot.waitExposed(curves)
        for i in range(1, 40):
            curves.add_batch(i / 100, 200 - i, 190 - i, 1 + i / 10)
        curves.redraw()
        legend = curves.legend.sceneBoundingRect()
        assert len(curves.legend.items) == 4  # loss, recon, test, KL
        for plot in (curves.nats_plot, curves.kl_plot):
            assert not legend.intersects(plot.vb.sceneBoundingRect())
    for plot in (curves.nats_plot, curves.kl_plot):
        assert "x0.001" not in plot.getAxis("bottom").labelString()
    assert curves.kl_plot.getAxis("bottom").labelString().strip().startswith("<span")  # "epoch", no prefix
    assert "(x" not in curves.kl_plot.getAxis("bottom").labelString()


def test_axis_labels_never_run_into_the_other_plot(curves, qtbot):
    """In a short dock (a 1024 x 700 window) a rotated axis label longer than its plot is
    tall is hidden, not drawn across the other plot; with room, both are shown."""
    curves.show()
    qtbot.waitExposed(curves)
    for height, both in ((curves.minimumHeight(), False), (520, True)):
        curves.resize(330, height)
        qtbot.waitUntil(lambda h=height: curves.height() == h)
        labels = {}
        for plot in (curves.nats_plot, curves.kl_plot):
            label = plot.getAxis("left").label
            if label.isVisible():
                labels[plot] = label.sceneBoundingRect()
                assert label.sceneBoundingRect().height() <= plot.vb.sceneBoundingRect().height() + 8
        if len(labels) == 2:
            assert not labels[curves.nats_plot].intersects(labels[curves.kl_plot])
        assert (len(labels) == 2) == both


@pytest.mark.parametrize("labelled", [False, True])
def test_the_plots_fit_the_width_of_the_narrowest_training_dock(qtbot, labelled):
    """Two legend columns of long names made the layout wider than the view: the plots ran
    off its right edge (the last epochs cut off)."""
    from vae_explorer.gui.panels.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.set_labelled(labelled)
    curves.resize(300, 400)  # the dock's 330 px less its margins and scroll bar
    curves.show()
    qtbot.waitExposed(curves)
    curves.add_batch(1.0, 200.0, 190.0, 5.0)
    curves.redraw()
    curves.ci.layout.activate()
    for item in (curves.legend, curves.nats_plot, curves.kl_plot):
        assert item.sceneBoundingRect().right() <= curves.width() + 1, (item, item.sceneBoundingRect())


def test_a_user_zoom_shows_the_follow_button_which_follows_the_run_again(curves, qtbot):
    from PySide6.QtCore import Qt

    curves.resize(400, 400)
    curves.show()
    qtbot.waitExposed(curves)
    for i in range(1, 30):
        curves.add_batch(i / 10, 200.0 - i, 190.0, 5.0)
    curves.redraw()
    assert curves.following and not curves.follow_button.isVisible()
    _wheel_over(curves, curves.nats_plot.vb)
    assert not curves.following and curves.follow_button.isVisible()
    frozen = curves.nats_plot.vb.viewRange()[0]
    for i in range(30, 80):
        curves.add_batch(i / 10, 150.0, 140.0, 5.0)
    curves.redraw()
    assert curves.nats_plot.vb.viewRange()[0] == frozen  # the zoom is kept...
    button = curves.follow_button
    assert button.geometry().right() <= curves.width() and button.y() >= 0  # ...in view
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert curves.following and not button.isVisible()
    assert curves.nats_plot.vb.viewRange()[0][1] >= 7.9  # following the run again


def _wheel_over(view, item) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    at = view.mapFromScene(item.sceneBoundingRect().center())
    event = QWheelEvent(
        QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(view.viewport(), event)


def test_the_test_error_curve_is_named_in_the_legend_while_it_shows(curves):
    """Its plot's axis label is hidden in a short dock: the legend names the red line."""

    def names():
        return [label.text for _, label in curves.legend.items]

    assert "test error %" not in names()
    curves.set_test_errors([{"epoch": 1, "test_error": 0.2}, {"epoch": 2, "test_error": 0.1}])
    curves.redraw()
    assert "test error %" in names()
    curves.clear_data()
    curves.redraw()
    assert "test error %" not in names()


def test_a_loaded_history_names_only_the_series_it_holds(curves):
    """A labelled model's per-epoch history has no reconstruction or KL: not in the legend."""

    def names():
        return [label.text for _, label in curves.legend.items]

    curves.set_labelled(True)
    history = [
        {"epoch": e, "train_loss": 80.0 - e, "test_elbo": -70.0 + e, "test_error": 0.2} for e in (1, 2)
    ]
    curves.set_history(history)
    curves.redraw()
    assert names() == ["train loss", "test −ELBO", "test error %"]
    curves.clear_data()  # a run starts: every batch series to come is named
    curves.add_batch(0.01, 200.0, 190.0, 5.0)
    curves.redraw()
    assert names() == ["train loss", "labelled −ELBO", "test −ELBO", "KL"]

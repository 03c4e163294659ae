"""Live curves follow a run in steps: the range rules alone, then the curves widget."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.gui.stepped_range import growing_range, nice_ceiling, stepped_range


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0.0017, 0.002), (1.0, 1.0), (1.1, 1.5), (7.0, 8.0), (8.5, 10.0), (10.0, 10.0), (31.0, 40.0)],
)
def test_nice_ceiling_climbs_a_ladder_of_round_numbers(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize("value", [0.0, -3.0, float("nan"), float("inf")])
def test_nice_ceiling_of_nonsense_is_one(value):
    assert nice_ceiling(value) == 1.0


def test_x_range_steps_only_past_its_end():
    assert growing_range(None, 0.3) == pytest.approx((0.0, 0.3))
    assert growing_range((0.0, 0.3), 0.3) is None
    assert growing_range((0.0, 0.3), 0.31) == pytest.approx((0.0, 0.4))
    assert growing_range(None, 0.01, least=1.0) == (0.0, 1.0)  # a first epoch fills a fixed frame
    assert growing_range((0.0, 1.0), 0.9, least=1.0) is None


def test_y_range_holds_while_the_data_fill_it_and_steps_otherwise():
    first = stepped_range(None, np.array([100.0, 200.0]))
    assert first == pytest.approx((90.0, 210.0))
    assert stepped_range(first, np.array([100.0, 205.0, np.nan])) is None  # inside, NaN ignored
    lower = stepped_range(first, np.array([80.0, 200.0]))  # below the range: room to fall on
    assert lower is not None and lower[0] <= 80.0 - 0.4 * 120.0 and lower[1] >= 200.0
    shrunk = stepped_range(first, np.array([150.0, 160.0]))  # fills a tenth of it: zoom in
    assert shrunk == pytest.approx((144.0, 168.0))  # a band of >= 16 (a tenth of 160), ends on 4s
    near = stepped_range(None, np.array([548.48, 548.5]))  # a run's first loss and recon
    assert near[1] - near[0] >= 54.0
    flat = stepped_range(None, np.array([5.0, 5.0]))
    assert flat[0] < 5.0 < flat[1] and stepped_range(flat, np.array([5.0])) is None
    assert stepped_range(first, np.array([np.nan])) is None


def test_values_near_the_end_of_float_leave_the_range_as_it_is():
    """A checkpoint's history may hold 1e308: no OverflowError, no infinite range."""
    fitted = stepped_range(None, np.array([1.0, 1e308]))
    assert fitted is not None and np.isfinite(fitted).all() and fitted[1] >= 1e308
    assert stepped_range((0.0, 10.0), np.array([-1e308, 1e308])) is None  # (its span overflows)
    lo, hi = growing_range(None, 1e308)
    assert lo == 0.0 and np.isfinite(hi) and hi >= 1e308


@pytest.fixture
def curves(qtbot):
    from vae_explorer.gui.panels import TrainingCurves

    view = TrainingCurves()
    view.resize(400, 320)
    view.show()
    qtbot.waitExposed(view)
    return view


def _batches(curves, start: int, stop: int) -> None:
    for i in range(start, stop):
        curves.add_batch(i / 600, 100.0 + 400.0 / i, 90.0 + 300.0 / i, 5.0 + i / 300)
        curves.redraw()


def _holds_all(curves, after_start: bool = False) -> bool:
    """Every point in view; with ``after_start``, every point past the run's first 5%."""
    (x0, x1), (y0, y1) = curves.nats_plot.vb.viewRange()
    x, y = curves.series("loss")
    late = y[x >= 0.05 * x[-1]] if after_start else y
    return bool(x0 <= x.min() and x.max() <= x1 and y0 <= late.min() and late.max() <= y1)


def test_a_run_moves_the_ranges_in_few_steps_with_every_point_in_view(curves):
    changes = []
    curves.nats_plot.vb.sigRangeChanged.connect(lambda *_: changes.append(1))
    for start in range(1, 1200, 50):
        _batches(curves, start, start + 50)
        assert _holds_all(curves, after_start=True)
    assert 0 < len(changes) < 60  # pyqtgraph's auto-range: one change per redraw, 1,199


def test_a_runs_first_batches_stop_setting_the_scale(curves):
    """The first batches' loss (here 500, then falling to ~100) is left out of the scale
    once the run is past its first epoch: the first 5% of its epochs do not count."""
    _batches(curves, 1, 500)
    assert _holds_all(curves)  # in the first epoch every point counts
    _batches(curves, 500, 3000)
    (_, _), (y0, y1) = curves.nats_plot.vb.viewRange()
    assert y1 < 200 and y0 <= curves.series("loss")[1].min()


def test_a_users_pan_stops_the_following_and_a_double_click_resumes_it(curves, qtbot):
    from pytestqt.qt_compat import qt_api

    _batches(curves, 1, 100)
    curves.nats_plot.vb.sigRangeChangedManually.emit([True, True])  # as a drag or wheel does
    curves.nats_plot.setXRange(0.0, 0.05, padding=0)
    _batches(curves, 100, 400)
    assert not curves.following and curves.nats_plot.vb.viewRange()[0] == pytest.approx([0.0, 0.05])
    qtbot.mouseDClick(curves.viewport(), qt_api.QtCore.Qt.MouseButton.LeftButton)
    assert curves.following and _holds_all(curves, after_start=True)
    curves.nats_plot.vb.sigRangeChangedManually.emit([True, True])
    curves.clear_data()  # a new run follows again
    assert curves.following


def test_a_loaded_history_counts_every_epoch(curves):
    """A model's history holds per-epoch averages: its first epochs are no outliers."""
    curves.set_history([{"epoch": e, "train_loss": 100.0 + 100.0 / e} for e in range(1, 51)])
    (_, _), (y0, y1) = curves.nats_plot.vb.viewRange()
    assert y1 >= 200.0 and y0 <= 102.0
    curves.clear_data()
    assert curves.per_batch

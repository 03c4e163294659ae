"""Colour the scatter by a per-image quantity (a fake core until core.posterior has the
per-image functions); the legend and colour bar beside the plot, never over the data; the
mouse hint never cut off."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scatter_helpers import untrained_model

from vae_explorer.gui.scatter import colour_by
from vae_explorer.gui.scatter.colour_bar import TABLE_SIZE, format_value


@pytest.fixture
def fake_core(monkeypatch):
    """compute_values replaced by a deterministic function of the model's latents: each
    call is recorded with its model and quantity (and may report progress)."""
    calls: list[tuple[object, str]] = []
    gate = threading.Event()
    gate.set()

    def fake(model, images, quantity, progress=None):
        from vae_explorer.core.latent import encode_images

        calls.append((model, quantity))
        mu, logvar = encode_images(model, images)
        if progress is not None:
            progress(len(images) // 2, len(images))
        gate.wait(10)
        offset = {"elbo": 0.0, "recon": 3.0, "kl": -2.0, "log_px": 7.0, "total_gap": 1.0}[quantity]
        return (mu[:, 0] * 10 - logvar[:, 1] + offset).astype(np.float64)

    monkeypatch.setattr(colour_by, "compute_values", fake)
    fake.calls, fake.gate = calls, gate
    return fake


def expected(state, quantity):
    from vae_explorer.core.latent import encode_images

    mu, logvar = encode_images(state.model, state.test_set.images)
    offset = {"elbo": 0.0, "recon": 3.0, "kl": -2.0, "log_px": 7.0, "total_gap": 1.0}[quantity]
    return mu[:, 0] * 10 - logvar[:, 1] + offset


def choose(qtbot, view, quantity):
    control = view.colour_by
    control.combo.setCurrentIndex(control.combo.findData(quantity))
    qtbot.waitUntil(lambda: not control.is_busy() and view.colour_bar.isVisible(), timeout=10000)


def test_colouring_by_a_quantity_follows_its_values_and_the_bar_shows_the_range(
    qtbot, view, state, fake_core
):
    assert [view.colour_by.combo.itemText(i) for i in range(view.colour_by.combo.count())] == [
        "class",
        "ELBO",
        "reconstruction",
        "KL",
        "log p(x)",
        "total gap",
    ]
    np.testing.assert_array_equal(view.cloud.colour_indices(), state.test_set.labels)
    assert not view.colour_bar.isVisible()
    choose(qtbot, view, "elbo")
    values = expected(state, "elbo")
    index = view.cloud.colour_indices()
    assert index.min() >= 0 and index.max() == TABLE_SIZE - 1 and len(np.unique(index)) > 30
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(index[order]) >= 0), "colour indices do not follow the values' order"
    lo, hi = np.percentile(values, [1, 99])
    assert view.colour_bar.range() == pytest.approx((lo, hi), rel=1e-5)
    assert view.colour_bar.labels() == (format_value(lo), format_value(hi))
    assert view.colour_bar.title().startswith("ELBO")
    assert len(view.cloud.colour_table()) == TABLE_SIZE
    # Class colouring comes back.
    view.colour_by.set_quantity("class")
    np.testing.assert_array_equal(view.cloud.colour_indices(), state.test_set.labels)
    assert not view.colour_bar.isVisible()


def test_values_are_cached_per_model_and_a_new_model_recomputes(qtbot, view, state, fake_core):
    choose(qtbot, view, "kl")
    choose(qtbot, view, "recon")
    view.colour_by.set_quantity("class")
    choose(qtbot, view, "kl")
    assert [q for _, q in fake_core.calls] == ["kl", "recon"]  # the second KL: from the cache
    assert fake_core.calls[0][0] is not state.model  # the worker computes on its own copy
    before = view.cloud.colour_indices().copy()
    state.set_model(untrained_model(2, seed=5))
    qtbot.waitUntil(lambda: len(fake_core.calls) == 3 and not view.colour_by.is_busy(), timeout=10000)
    assert fake_core.calls[-1][1] == "kl"
    values = expected(state, "kl")
    index = view.cloud.colour_indices()
    assert np.all(np.diff(index[np.argsort(values, kind="stable")]) >= 0)
    assert not np.array_equal(index, before)


def test_a_new_models_values_are_not_shown_in_the_old_ones_colours_meanwhile(qtbot, view, state, fake_core):
    """Coloured by KL, a new model kept the old model's colours and colour bar (its title
    without "updating") until its own values came: a picture of values that were not its."""
    choose(qtbot, view, "kl")
    assert view.colour_bar.isVisible()
    fake_core.gate.clear()  # the new model's values take a while
    state.set_model(untrained_model(2, seed=5))
    qtbot.waitUntil(lambda: view.colour_by.is_busy(), timeout=10000)
    assert view.cloud.colour_table() == [c.name() for c in view.cloud._colours]  # the classes'
    assert not view.colour_bar.isVisible()
    fake_core.gate.set()
    qtbot.waitUntil(lambda: not view.colour_by.is_busy() and view.colour_bar.isVisible(), timeout=10000)


def test_progress_shows_while_computing(qtbot, view, state, fake_core):
    fake_core.gate.clear()
    control = view.colour_by
    control.set_quantity("total_gap")
    qtbot.waitUntil(lambda: control.progress.isVisible() and control.progress.value() == 50, timeout=10000)
    assert "total gap" in control.progress.format()
    fake_core.gate.set()
    qtbot.waitUntil(lambda: not control.progress.isVisible(), timeout=10000)
    assert view.colour_bar.isVisible()


def test_shutdown_stops_a_running_job_at_its_next_report_and_starts_no_other(qtbot, view, state, monkeypatch):
    reports: list[int] = []

    def endless(model, images, quantity, progress=None):
        while len(reports) < 1000:  # a long computation that reports as it goes (image_gaps does)
            progress(len(reports), 1000)
            reports.append(1)
            threading.Event().wait(0.01)
        return np.zeros(len(images))

    monkeypatch.setattr(colour_by, "compute_values", endless)
    control = view.colour_by
    control.set_quantity("total_gap")
    qtbot.waitUntil(lambda: len(reports) > 2, timeout=10000)
    control.shutdown(wait_ms=5000)  # the window's close
    assert not control.is_busy()
    assert control.message == "" and control.quantity() == "total_gap"  # no error shown
    calls = control.calls
    state.set_model(untrained_model(2))  # training's last snapshot arriving while closing
    qtbot.wait(50)
    assert control.calls == calls and not control.is_busy()


def test_log_px_and_gap_need_a_2d_latent(qtbot, view, state, fake_core):
    choose(qtbot, view, "log_px")
    state.set_model(untrained_model(3))
    control = view.colour_by
    items = control.combo.model()
    for key in ("log_px", "total_gap"):
        item = items.item(control.combo.findData(key))
        assert not item.isEnabled() and "2-d latent" in item.toolTip()
    assert control.quantity() == "class" and not view.colour_bar.isVisible()
    assert items.item(control.combo.findData("elbo")).isEnabled()
    state.set_model(untrained_model(2))
    assert items.item(control.combo.findData("log_px")).isEnabled()


def test_a_failed_computation_says_why_and_goes_back_to_classes(qtbot, view, state, monkeypatch):
    def broken(model, images, quantity, progress=None):
        raise RuntimeError("no per-image metrics here")

    monkeypatch.setattr(colour_by, "compute_values", broken)
    control = view.colour_by
    control.set_quantity("elbo")
    qtbot.waitUntil(lambda: not control.is_busy() and control.quantity() == "class", timeout=10000)
    assert "ELBO" in control.message and "no per-image metrics here" in control.message
    assert control.message in control.progress.toolTip() and control.progress.isVisible()
    np.testing.assert_array_equal(view.cloud.colour_indices(), state.test_set.labels)


def test_legend_and_colour_bar_never_cover_points_after_autorange(qtbot, view, state, fake_core):
    choose(qtbot, view, "elbo")
    view.reset_zoom()
    qtbot.wait(10)  # nothing to wait for: let the autorange's layout pass run
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    plot_area = view.vb.sceneBoundingRect()
    for item in (view.legend, view.colour_bar):
        rect = item.sceneBoundingRect()
        assert rect.width() > 0 and not rect.intersects(plot_area), item
        assert view.plot.sceneRect().contains(rect) or view.plot.viewport().rect().contains(
            view.plot.mapFromScene(rect.center())
        )
    # Every point is inside the data area, none under the legend or the bar.
    x, y = view.cloud.points()
    (x0, x1), (y0, y1) = view.visible_range()
    assert x.min() >= x0 and x.max() <= x1 and y.min() >= y0 and y.max() <= y1


@pytest.mark.parametrize("width", [1000, 700, 520])
def test_the_mouse_hint_is_never_cut_off(qtbot, view, width):
    view.resize(width, 560)
    qtbot.waitUntil(lambda: view.width() == width, timeout=2000)
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    hint = view.hint
    assert hint.fontMetrics().horizontalAdvance(hint.text()) <= hint.width()
    assert "right-drag: pan" in hint.toolTip() and "wheel: zoom" in hint.toolTip()
    if width >= 1000:
        assert "wheel: zoom" in hint.text()


def test_with_the_real_core_the_colours_follow_each_images_elbo(qtbot, view, state):
    from vae_explorer.core.posterior import image_metrics

    choose(qtbot, view, "elbo")
    values = image_metrics(state.model, state.test_set.images)["elbo"]
    index = view.cloud.colour_indices()
    assert np.all(np.diff(index[np.argsort(values, kind="stable")]) >= 0)
    assert view.colour_bar.range() == pytest.approx(tuple(np.percentile(values, [1, 99])), rel=1e-4)
    values = colour_by.compute_values(state.model, state.test_set.images[:300], "total_gap")
    assert values.shape == (300,) and np.all(values > -1e-3)  # a gap is never negative


@pytest.mark.parametrize("change", ["quantity", "model"])
def test_a_job_nothing_wants_any_more_is_cancelled_and_the_new_request_runs(
    qtbot, view, state, monkeypatch, change
):
    """A total gap takes minutes on a CPU: choosing another quantity, or opening another
    model, left it running (its progress bar under the new model) and the new request
    waited behind it."""
    reports: list[tuple[int, str]] = []  # (the job, its quantity) per progress report

    def slow(model, images, quantity, progress=None):
        job = len({j for j, _ in reports})
        for i in range(300):
            if progress is not None:
                progress(i, 300)  # (a cancelled job stops here)
            reports.append((job, quantity))
            if quantity == "kl":
                break
            threading.Event().wait(0.01)
        return np.full(len(images), float(len(reports)))

    monkeypatch.setattr(colour_by, "compute_values", slow)
    control = view.colour_by
    control.set_quantity("total_gap")
    qtbot.waitUntil(lambda: len(reports) > 2, timeout=10000)
    if change == "quantity":
        control.set_quantity("kl")
    else:
        state.set_model(untrained_model(2, seed=5))  # (not in a training run)
    qtbot.waitUntil(lambda: control.calls == 2 and len({j for j, _ in reports}) == 2, timeout=5000)
    assert reports.count((0, "total_gap")) < 100 and control.message == ""
    assert reports[-1][1] == ("kl" if change == "quantity" else "total_gap")
    qtbot.waitUntil(lambda: not control.is_busy(), timeout=10000)
    assert view.colour_bar.isVisible() and not control.progress.isVisible()


def test_in_a_training_run_a_newer_snapshot_does_not_cancel_the_running_job(qtbot, view, state, fake_core):
    fake_core.gate.clear()
    control = view.colour_by
    control.set_quantity("total_gap")
    qtbot.waitUntil(control.is_busy, timeout=10000)
    state.set_training(True)
    try:
        state.set_model(untrained_model(2, seed=5))
        assert not control._dropped and control.is_busy()
    finally:
        fake_core.gate.set()
        qtbot.waitUntil(lambda: not control.is_busy(), timeout=10000)
        state.set_training(False)
    assert [q for _, q in fake_core.calls] == ["total_gap", "total_gap"]  # then the newest model's


def test_a_title_wider_than_the_colour_bar_wraps_instead_of_being_cut(qtbot):
    """ "KL (nats) (updating)" read "KL (nats) (updat" in the bar's 96-pixel column."""
    from PySide6.QtGui import QFontMetrics

    from vae_explorer.gui.scatter.colour_bar import ColourBarItem

    bar = ColourBarItem()
    line = QFontMetrics(bar._font).height()
    bar.set_values("KL (nats)", 0.0, 1.0)
    short_title, short_bar = bar.title_and_bar_rects()
    bar.set_values("ELBO (nats) (updating)", 0.0, 1.0)
    long_title, long_bar = bar.title_and_bar_rects()
    assert short_title.height() == line and long_title.height() == 2 * line
    assert long_bar.top() == short_bar.top() + line and long_bar.bottom() == short_bar.bottom()

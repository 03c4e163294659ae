"""The posterior dock alone: a real ExplorerState with a small VAE and core's exact
posterior (wrapped to count, hold or break its calls where a test needs that)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt

from vae_explorer.core import posterior as core_posterior
from vae_explorer.gui.panels import posterior_job
from vae_explorer.gui.panels.posterior import NO_DRAWING, NO_MODEL, NO_PICK, PosteriorPanel
from vae_explorer.gui.state import ExplorerState

REAL_EXACT_POSTERIOR = core_posterior.exact_posterior


@pytest.fixture
def calls(monkeypatch):
    """Counts core's exact posteriors: the list records the sum of each image's pixels."""
    made: list[float] = []

    def counting(model, image):
        made.append(float(np.asarray(image).sum()))
        return REAL_EXACT_POSTERIOR(model, image)

    monkeypatch.setattr(core_posterior, "exact_posterior", counting)
    return made


@pytest.fixture
def panel(qtbot, state):
    p = PosteriorPanel(state)
    qtbot.addWidget(p)
    p.resize(330, 600)
    p.show()
    yield p
    p.shutdown()


def image_sum(state, index) -> float:
    return float((state.test_set.images[index].astype(np.float32) / 255.0).sum())


def wait_for(qtbot, panel, label: str):
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.label.startswith(label), timeout=10000)
    return panel.result


def test_placeholders_without_model_or_image(qtbot, small_test_set, calls):
    s = ExplorerState()
    s.set_dataset("mnist", small_test_set)
    p = PosteriorPanel(s)
    qtbot.addWidget(p)
    p.show()
    assert p.message.text() == NO_MODEL and not p.plot.isVisible()
    s.set_model(_model(0))
    assert p.message.text() == NO_PICK and p.result is None
    p.source_combo.setFocus()
    qtbot.keyClick(p.source_combo, Qt.Key.Key_Down)  # a real key: "Canvas drawing"
    assert p.source == "canvas" and p.message.text() == NO_DRAWING
    assert calls == []
    p.shutdown()


def _model(seed: int, latent_dim: int = 2):
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(seed)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32))


def test_picking_draws_the_posterior_and_its_numbers(qtbot, panel, state, calls):
    state.set_picked_index(7)
    result = wait_for(qtbot, panel, "test image #7")
    post = result.posterior
    assert calls == [pytest.approx(image_sum(state, 7))]
    heat = panel.plot.heatmap.image
    assert np.allclose(heat, np.exp(post.log_density - post.log_density.max()), atol=1e-6)
    xs, ys = post.z_axes
    for row, col in ((0, 0), (10, 150), (200, 37)):  # pixel centres land on their grid points
        centre = panel.plot.heatmap.mapToParent(QPointF(col + 0.5, row + 0.5))
        assert (centre.x(), centre.y()) == pytest.approx((xs[col], ys[row]), abs=1e-6)
    text = panel.numbers.text()
    for value in (post.log_px, post.elbo, post.approximation_gap):
        assert f"{value:.2f}" in text
    shown = dict(line.rsplit(" ", 1) for line in text.splitlines())
    for name, value in (("KL(q ‖ p(z|x))", post.kl_q_posterior), ("amortis. gap", post.amortisation_gap)):
        assert float(shown[name]) == pytest.approx(value, abs=0.0151)  # (shown to add up)
    # the gaps as shown add up to the KL as shown
    sum_shown = float(shown["approx. gap"]) + float(shown["amortis. gap"])
    assert f"{sum_shown:.2f}" == shown["KL(q ‖ p(z|x))"]
    assert "instead of fitting this one" in panel.numbers.explanation("amortis. gap")
    qx, qy = panel.plot.q_items[0].getData()
    assert np.mean(qx[:-1]) == pytest.approx(post.q_mu[0], abs=1e-6)
    assert panel.plot.qstar_items[1].getData()[0].size > 0
    assert panel.plot.mean_item.data["x"][0] == pytest.approx(post.mean[0])
    assert panel.message.isHidden() and panel.plot.isVisible()


def test_a_new_pick_and_a_canvas_drawing_recompute(qtbot, panel, state, calls):
    state.set_picked_index(3)
    first = wait_for(qtbot, panel, "test image #3")
    heat_first = panel.plot.heatmap.image.copy()
    state.set_picked_index(4)
    second = wait_for(qtbot, panel, "test image #4")
    assert second.posterior.log_px != first.posterior.log_px
    assert not np.array_equal(panel.plot.heatmap.image, heat_first)
    drawing = np.zeros(784, np.float32)
    drawing[300:420] = 1.0
    state.set_canvas_image(drawing)
    assert panel.source == "canvas"  # follows the source that changed last
    third = wait_for(qtbot, panel, "the canvas drawing")
    assert not np.allclose(third.posterior.mean, second.posterior.mean)
    assert calls[-1] == pytest.approx(120.0)
    state.set_picked_index(3)
    assert panel.source == "picked"
    wait_for(qtbot, panel, "test image #3")
    assert np.allclose(panel.plot.heatmap.image, heat_first)


def test_a_burst_of_requests_computes_only_the_newest(qtbot, panel, state, calls, monkeypatch):
    started, release = threading.Event(), threading.Event()
    counting = core_posterior.exact_posterior

    def held(model, image):
        started.set()
        release.wait(10)
        return counting(model, image)

    monkeypatch.setattr(core_posterior, "exact_posterior", held)
    for index in range(10):  # faster than the debounce: one request
        state.set_picked_index(index)
    qtbot.waitUntil(started.is_set, timeout=5000)
    for index in (20, 21, 22):  # each one past the debounce, while the worker is busy
        state.set_picked_index(index)
        qtbot.waitUntil(lambda n=index - 18: panel.requests_sent == n, timeout=5000)
    release.set()
    wait_for(qtbot, panel, "test image #22")
    assert calls == [pytest.approx(image_sum(state, i)) for i in (9, 22)]


def test_a_model_change_recomputes_and_a_3d_latent_says_so(qtbot, panel, state, calls):
    state.set_picked_index(5)
    first = wait_for(qtbot, panel, "test image #5")
    state.set_model(_model(1))
    qtbot.waitUntil(lambda: panel.result is not first and panel.result is not None, timeout=10000)
    assert not np.allclose(panel.result.posterior.mean, first.posterior.mean)
    n = len(calls)
    state.set_model(_model(2, latent_dim=3))
    assert panel.result is None and panel.plot.isHidden()
    assert "needs a 2-d latent" in panel.message.text() and "3 dimensions" in panel.message.text()
    assert panel.plot.heatmap.image is None  # no stale picture behind the message
    qtbot.wait(DEBOUNCE_WAIT)
    assert len(calls) == n


DEBOUNCE_WAIT = 400  # longer than the panel's debounce: nothing may be computed after it


def test_snapshots_while_training_are_throttled(qtbot, panel, state, calls):
    state.set_picked_index(1)
    wait_for(qtbot, panel, "test image #1")
    n = len(calls)
    for seed in range(5):
        state.set_model(_model(seed + 10), live=True)
    qtbot.waitUntil(lambda: len(calls) >= n + 1, timeout=10000)
    assert len(calls) <= n + 2  # the first at once, the burst's last after the throttle


def test_importance_sampling_shows_draws_and_the_iwae_curve(qtbot, panel, state, calls):
    state.set_picked_index(2)
    wait_for(qtbot, panel, "test image #2")
    assert panel.plot.draws_item.data.size == 0 and not panel.plot.iwae.isVisible()
    qtbot.mouseClick(panel.importance_box, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result.draws is not None, timeout=10000)
    result = panel.result
    assert panel.plot.iwae.isVisible()
    sizes = panel.plot.draws_item.data["size"]
    assert sizes.size == panel.draws_spin.value()
    assert np.argmax(sizes) == np.argmax(result.weights)  # the heaviest draw is the largest
    ks, bounds = panel.plot.iwae_curve.getData()
    assert ks.size == len(posterior_job.IWAE_KS) and np.allclose(bounds, result.iwae_bounds)
    assert panel.plot.log_px_line.value() == pytest.approx(result.posterior.log_px)
    old = result.draws.copy()
    qtbot.mouseClick(panel.redraw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not result, timeout=10000)
    assert not np.allclose(panel.result.draws, old)


def test_an_error_in_core_is_shown_in_the_panel(qtbot, panel, state, calls, monkeypatch):
    def broken(model, image):
        raise ValueError("the image has NaN pixels")

    monkeypatch.setattr(core_posterior, "exact_posterior", broken)
    state.set_picked_index(6)
    qtbot.waitUntil(lambda: "NaN pixels" in panel.message.text(), timeout=10000)
    assert panel.message.isVisible() and panel.result is None and panel.plot.isHidden()


def test_a_result_in_flight_is_dropped_when_the_model_turns_3d(qtbot, panel, state, calls, monkeypatch):
    started, release = threading.Event(), threading.Event()
    counting = core_posterior.exact_posterior

    def held(model, image):
        started.set()
        release.wait(10)
        return counting(model, image)

    monkeypatch.setattr(core_posterior, "exact_posterior", held)
    state.set_picked_index(8)
    qtbot.waitUntil(started.is_set, timeout=5000)
    state.set_model(_model(3, latent_dim=3))
    release.set()
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=10000)
    assert calls and panel.result is None and panel.plot.heatmap.image is None
    assert "needs a 2-d latent" in panel.message.text()


def test_a_hidden_panel_computes_when_shown(qtbot, panel, state, calls):
    panel.hide()
    state.set_picked_index(11)
    qtbot.wait(DEBOUNCE_WAIT)
    assert calls == []
    panel.show()
    wait_for(qtbot, panel, "test image #11")
    assert calls == [pytest.approx(image_sum(state, 11))]


def test_the_latent_plane_gets_the_docks_height(qtbot, panel, state, calls):
    """In a dock the size of the default window's tabbed Posterior dock, the plane takes
    most of the height, the IWAE plot stays small and nothing scrolls; only a dock shorter
    than the content scrolls it."""
    from vae_explorer.gui.panels.posterior_plot import IWAE_MAX_HEIGHT

    panel.resize(320, 480)
    qtbot.mouseClick(panel.importance_box, Qt.MouseButton.LeftButton)
    state.set_picked_index(2)
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.draws is not None, timeout=10000)
    qtbot.wait(50)
    plot = panel.plot
    plane = plot.latent.vb.sceneBoundingRect()
    iwae = plot.iwae.sceneBoundingRect()
    assert IWAE_MAX_HEIGHT // 2 <= iwae.height() <= IWAE_MAX_HEIGHT
    assert plane.height() >= 1.5 * iwae.height() and plane.height() >= 0.3 * panel.height(), (plane, iwae)
    assert not panel.scroll_area.verticalScrollBar().isVisible()
    numbers = panel.numbers.geometry()
    assert panel.scroll_area.viewport().rect().contains(numbers)
    assert panel.numbers.grid.columnCount() == 4  # two quantities per row at this width
    panel.resize(320, 250)
    qtbot.waitUntil(lambda: panel.scroll_area.verticalScrollBar().isVisible(), timeout=3000)
    assert panel.width() >= panel.minimumSizeHint().width()


def test_no_old_placeholder_while_computing(qtbot, panel, state, calls, monkeypatch):
    """Switching to a source with an image says it is computing, never the last source's
    "click a test point" while the (slow) result is on its way."""
    started, release = threading.Event(), threading.Event()
    counting = core_posterior.exact_posterior

    def held(model, image):
        started.set()
        release.wait(10)
        return counting(model, image)

    assert panel.message.text() == NO_PICK
    monkeypatch.setattr(core_posterior, "exact_posterior", held)
    drawing = np.zeros(784, np.float32)
    drawing[200:260] = 1.0
    state.set_canvas_image(drawing)
    assert panel.source == "canvas"
    assert panel.message.text().startswith("Computing the posterior of the canvas drawing")
    qtbot.waitUntil(started.is_set, timeout=5000)
    release.set()
    wait_for(qtbot, panel, "the canvas drawing")
    assert panel.message.isHidden()


def test_a_model_without_an_exact_posterior_leaves_no_live_controls_or_dashes(
    qtbot, panel, state, calls, labelled_model
):
    state.set_picked_index(5)
    wait_for(qtbot, panel, "test image #5")
    assert panel.numbers.isVisible() and panel.source_combo.isEnabled() and panel.importance_box.isEnabled()
    panel.importance_box.setChecked(True)
    assert panel.draws_spin.isEnabled()
    state.set_model(labelled_model, {}, None)
    assert "needs a VAE" in panel.message.text()
    assert not panel.numbers.isVisible()  # no table of dashes under the message
    for control in (panel.source_combo, panel.importance_box, panel.draws_spin, panel.redraw_button):
        assert not control.isEnabled() and not control.isVisible(), control
    assert panel.message.geometry().top() < 80  # at the top, not under an empty plane
    state.set_model(_model(3))
    assert panel.source_combo.isEnabled() and panel.draws_spin.isEnabled()
    assert all(tool.isVisible() for tool in panel._tools)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)
    assert panel.numbers.isVisible()


def test_without_importance_sampling_the_plane_takes_the_iwae_plots_room(qtbot, panel):
    """Turned off, the IWAE plot's row collapses (the plot stays in the layout: taken out of
    its scene, its parts were left to the garbage collector, which crashed the process)."""
    panel.resize(320, 480)
    panel.show()
    plot = panel.plot
    plot.show_iwae(True)
    qtbot.wait(50)
    with_iwae = plot.latent.vb.sceneBoundingRect().height()
    plot.show_iwae(False)
    qtbot.waitUntil(lambda: plot.latent.vb.sceneBoundingRect().height() > with_iwae + 40, timeout=2000)
    assert plot.iwae in plot.view.ci.items and not plot.iwae.isVisible()
    assert plot.iwae.sceneBoundingRect().height() < 1
    assert plot.latent.sceneBoundingRect().bottom() >= panel.plot.view.height() - 20  # margin, spacing


@pytest.mark.parametrize("width", range(200, 420, 7))  # (each entry fits a line)
def test_the_legend_wraps_between_entries_never_inside_one(qtbot, width):
    """ "encoder q(z|" / "x) 1σ, 2σ" was a line break after the "|"."""
    from PySide6.QtGui import QTextDocument

    from vae_explorer.gui.panels.posterior_plot import legend_html

    doc = QTextDocument()
    doc.setHtml(legend_html(draws=True))
    doc.setTextWidth(width)
    doc.size()  # (lays the text out)
    block = doc.firstBlock()
    layout, text = block.layout(), block.text()
    assert layout.lineCount() > 0
    for i in range(layout.lineCount()):
        line = layout.lineAt(i)
        piece = text[line.textStart() : line.textStart() + line.textLength()].replace("\u2060", "")
        assert "q(z|x)" in piece or "q(z" not in piece, piece
        assert "p(z|x)" in piece or "p(z" not in piece, piece


def test_the_gaps_as_shown_add_up_to_the_kl_as_shown(qtbot):
    """Each rounded on its own, 0.014 + 1.934 showed as 0.01 + 1.93 beside a KL of 1.95."""
    from types import SimpleNamespace

    from vae_explorer.gui.panels.posterior_numbers import PosteriorNumbers

    numbers = PosteriorNumbers()
    qtbot.addWidget(numbers)
    # log p(x) - ELBO = 1.952 = 0.014 + 1.938: each rounded alone, -59.68 + 61.64 = 1.96
    # beside a KL of 1.95, and 0.01 + 1.94 beside it
    post = SimpleNamespace(log_px=-59.684, elbo=-61.636, approximation_gap=0.014, amortisation_gap=1.938)
    numbers.show_result(SimpleNamespace(posterior=post, kl=1.952))
    shown = {k: float(v) for k, v in (line.rsplit(" ", 1) for line in numbers.text().splitlines())}
    kl = shown["KL(q ‖ p(z|x))"]
    assert shown["log p(x)"] - shown["ELBO"] == pytest.approx(kl, abs=1e-9) == 1.96
    assert shown["approx. gap"] + shown["amortis. gap"] == pytest.approx(kl, abs=1e-9)
    post.approximation_gap = float("nan")  # a gap not known: nothing made up
    numbers.show_result(SimpleNamespace(posterior=post, kl=1.952))
    shown_text = dict(line.rsplit(" ", 1) for line in numbers.text().splitlines())
    assert shown_text["approx. gap"] == "–" and shown_text["amortis. gap"] == "1.94"

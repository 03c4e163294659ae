"""State -> view: the scatter draws what the ExplorerState holds, and follows its changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scatter_helpers import set_range, untrained_model, viewport_xy

from vae_explorer.core.latent import square_tiles


def test_points_are_the_latents_in_the_shown_dims(view, state):
    mu = state.latents[0]
    x, y = view.cloud.points()
    np.testing.assert_allclose(x, mu[:, 0])
    np.testing.assert_allclose(y, mu[:, 1])
    assert len(view.legend.items) == 10
    assert [row[1].text for row in view.legend.items] == state.test_set.classes
    # A 2-d model has nothing to choose: the dims combos are shown but disabled.
    assert view.x_dim.count() == 2 and not view.x_dim.isEnabled() and not view.y_dim.isEnabled()
    # The view fitted itself to the points of the model it was built on.
    (x0, x1), (y0, y1) = view.visible_range()
    assert x0 <= mu[:, 0].min() and mu[:, 0].max() <= x1
    assert y0 <= mu[:, 1].min() and mu[:, 1].max() <= y1


def test_dims_change_reprojects_points_labels_and_crosshair(view, state):
    state.set_model(untrained_model(3))
    assert view.x_dim.count() == 3 and view.x_dim.isEnabled() and view.y_dim.isEnabled()
    state.set_current_z([0.25, -0.5, 1.5])
    state.set_dims(2, 0)
    mu = state.latents[0]
    x, y = view.cloud.points()
    np.testing.assert_allclose(x, mu[:, 2])
    np.testing.assert_allclose(y, mu[:, 0])
    assert (view.x_dim.currentIndex(), view.y_dim.currentIndex()) == (2, 0)
    pi = view.plot.getPlotItem()
    assert "z[2]" in pi.getAxis("bottom").labelText and "z[0]" in pi.getAxis("left").labelText
    assert view.crosshair_pos() == pytest.approx((1.5, 0.25))
    # Back to a 2-d model: two dims on offer again, the points are its latents.
    state.set_model(untrained_model(2))
    assert view.x_dim.count() == 2 and not view.x_dim.isEnabled()
    np.testing.assert_allclose(view.cloud.points()[0], state.latents[0][:, 0])


def test_crosshair_follows_current_z(view, state):
    state.set_current_z([0.5, -1.0])
    assert view.crosshair.isVisible()
    assert view.crosshair_pos() == pytest.approx((0.5, -1.0))
    state.set_current_z_from_plane((-0.25, 0.75))
    assert view.crosshair_pos() == pytest.approx((-0.25, 0.75))


def test_a_new_dataset_shows_its_points_and_all_classes(view, state, test_set):
    view.cloud.set_class_visible(3, False)
    smaller = dataclasses.replace(test_set, images=test_set.images[:200], labels=test_set.labels[:200])
    state.set_dataset("mnist", smaller)
    assert view.cloud.points()[0].shape == (200,)
    assert view.cloud.class_visible(3) and view.cloud.visible_mask().all()


def test_posterior_marker_only_for_a_drawing_and_labelled(view, state, qtbot):
    marker = view.posterior_marker
    assert state.canvas_posterior is None
    assert not marker.isVisible()  # nothing drawn yet: no star at start-up
    set_range(view, (-1.0, 2.0), (-2.5, 0.5))
    mu = np.array([0.5, -1.0], np.float32)
    logvar = np.log(np.array([0.25, 0.04], np.float32))  # sigma 0.5 and 0.2
    state.set_canvas_posterior(mu, logvar)
    assert marker.isVisible() and marker.star.isVisible() and marker.label.isVisible()
    assert marker.label.text.text() == "canvas"
    assert (marker.pos().x(), marker.pos().y()) == pytest.approx((0.5, -1.0))
    r1 = marker.mapRectToParent(marker.ellipse_1sd.path().boundingRect())
    assert r1.width() == pytest.approx(2 * 0.5, abs=1e-4)
    assert r1.height() == pytest.approx(2 * 0.2, abs=1e-4)
    assert (r1.center().x(), r1.center().y()) == pytest.approx((0.5, -1.0))
    r2 = marker.ellipse_2sd.path().boundingRect()
    assert r2.width() == pytest.approx(4 * 0.5, abs=1e-4)
    # The star and its label are drawn where the mean is.
    star = view.plot.mapFromScene(marker.star.scenePos())
    assert (star - viewport_xy(view, 0.5, -1.0).toPoint()).manhattanLength() <= 2
    state.set_canvas_posterior(None, None)  # the canvas was cleared
    assert not marker.isVisible()


def test_a_tight_posterior_stays_visible_when_zoomed_out(view, state, qtbot):
    from vae_explorer.gui.scatter.markers import MIN_SIGMA_PX

    set_range(view, (-4.0, 4.0), (-4.0, 4.0))
    state.set_canvas_posterior([0.0, 0.0], [np.log(1e-6)] * 2)  # sigma 0.001: under a pixel
    marker = view.posterior_marker
    rect = marker.ellipse_1sd.sceneBoundingRect()
    assert rect.width() >= 2 * MIN_SIGMA_PX - 1 and rect.height() >= 2 * MIN_SIGMA_PX - 1
    # Zooming in far enough shows its true size again.
    set_range(view, (-0.01, 0.01), (-0.01, 0.01))

    def true_size() -> bool:
        r = marker.mapRectToParent(marker.ellipse_1sd.path().boundingRect())
        return r.width() == pytest.approx(2e-3, rel=1e-3) and r.height() == pytest.approx(2e-3, rel=1e-3)

    qtbot.waitUntil(true_size, timeout=2000)


def test_overlay_shows_the_states_decoded_grid_at_its_extent(view, state, qtbot):
    set_range(view, (-2.0, 2.0), (-1.0, 3.0))
    state.set_overlay(True)
    assert view.overlay_check.isChecked() and view.overlay.isVisible()
    (x0, x1), (y0, y1) = view.visible_range()
    assert np.allclose(state.visible_range, ((x0, x1), (y0, y1)))
    grid = state.decoded_grid("visible")
    assert grid is not None and grid.extent == pytest.approx((x0, y0, x1 - x0, y1 - y0))
    np.testing.assert_array_equal(view.overlay.image, grid.mosaic[::-1])
    r = view.overlay.mapRectToParent(view.overlay.boundingRect())
    assert [r.left(), r.top(), r.width(), r.height()] == pytest.approx(list(grid.extent), abs=1e-6)
    # Zooming: after a pause the state's range follows, and the overlay with it.
    set_range(view, (-1.0, 1.0), (0.0, 2.0))
    qtbot.waitUntil(lambda: np.allclose(state.visible_range, view.visible_range()), timeout=2000)
    r = view.overlay.mapRectToParent(view.overlay.boundingRect())
    assert (r.left(), r.right()) == pytest.approx(view.visible_range()[0], abs=1e-6)
    view.resize(900, 380)  # a wide, low view
    qtbot.waitUntil(lambda: view.visible_range()[0][1] - view.visible_range()[0][0] > 3.0, timeout=2000)
    qtbot.waitUntil(lambda: np.allclose(state.visible_range, view.visible_range()), timeout=2000)
    state.set_grid(size=7)
    (x0, x1), (y0, y1) = view.visible_range()
    assert (x1 - x0) > 2 * (y1 - y0)
    cols, rows = square_tiles(7, x1 - x0, y1 - y0)
    assert view.overlay.image.shape == (28 * rows, 28 * cols) and min(cols, rows) == 7
    # Square tiles on screen (the view keeps x and y at one scale): N x N tiles over a view
    # twice as tall as wide drew every digit twice as tall as wide.
    px, py = view.vb.viewPixelSize()
    tile_w, tile_h = (x1 - x0) / cols / px, (y1 - y0) / rows / py
    assert tile_w == pytest.approx(tile_h, rel=0.1)
    state.set_overlay(False)
    assert not view.overlay.isVisible() and not view.overlay_check.isChecked()


def test_new_model_fits_the_view_but_a_live_snapshot_keeps_the_zoom(view, state):
    import copy

    model = state.model
    set_range(view, (0.0, 0.1), (0.0, 0.1))
    assert not any(view.vb.autoRangeEnabled())
    state.set_model(copy.deepcopy(model), live=True)  # a training snapshot
    assert not any(view.vb.autoRangeEnabled())
    state.set_model(copy.deepcopy(model))  # a model opened or made
    assert all(view.vb.autoRangeEnabled())


def test_overlay_is_decoded_at_most_every_so_often_while_training(view, state, qtbot, monkeypatch):
    import copy

    from vae_explorer.gui.scatter.view import LIVE_OVERLAY_MS

    state.set_overlay(True)
    calls = []
    decoded_grid = state.decoded_grid
    monkeypatch.setattr(state, "decoded_grid", lambda *a: calls.append(a) or decoded_grid(*a))
    model = state.model
    for _ in range(5):  # snapshots arriving faster than the overlay may be decoded
        state.set_model(copy.deepcopy(model), live=True)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=500)  # the first promptly (its own turn)...
    qtbot.wait(30)
    assert len(calls) == 1
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=LIVE_OVERLAY_MS + 2000)  # ...then the latest
    np.testing.assert_array_equal(view.overlay.image, state.decoded_grid("visible").mosaic[::-1])
    # A model that is not a snapshot is shown at once.
    before = len(calls)
    state.set_model(copy.deepcopy(model))
    assert len(calls) == before + 1


def test_while_training_the_view_follows_snapshots_in_steps(view, state, qtbot):
    """A snapshot whose points move a little keeps the view (and so the axes' cached
    pictures); points leaving it move it; the run's end fits the points exactly."""
    import copy

    from PySide6.QtWidgets import QApplication

    model = state.model
    mu, logvar = state.latents
    x, y = state.dims
    view.reset_zoom()
    state.set_training(True)

    def snapshot(scale: float) -> tuple[list[float], list[float]]:
        moved = mu.copy()
        moved[:, [x, y]] *= scale
        state.set_model(copy.deepcopy(model), latents=(moved, logvar), live=True)
        QApplication.processEvents()
        view.vb.updateAutoRange()
        return [list(r) for r in view.vb.viewRange()]

    first = snapshot(1.0)
    assert snapshot(1.03) == first  # a little movement: the same range
    spread = snapshot(3.0)  # the points leave the view: it steps out to hold them
    (x0, x1), (y0, y1) = spread
    shown = mu[:, [x, y]] * 3.0
    assert x0 <= shown[:, 0].min() and shown[:, 0].max() <= x1
    assert y0 <= shown[:, 1].min() and shown[:, 1].max() <= y1
    back = snapshot(1.0)  # the points shrink to a third (a space settling): the view follows
    assert back[0][1] - back[0][0] < 0.5 * (x1 - x0)
    assert snapshot(0.97) == back  # settled: held
    closer = snapshot(0.7)  # under 70% of the view: refitted, not left in the middle
    assert closer[0][1] - closer[0][0] < back[0][1] - back[0][0]
    state.set_training(False)
    QApplication.processEvents()
    view.vb.updateAutoRange()
    assert [list(r) for r in view.vb.viewRange()] != spread  # the exact fit again


def test_the_axes_name_their_dimensions_from_the_start(view, state):
    """Not only after the shown dimensions change (they were blank until then)."""
    pi = view.plot.getPlotItem()
    assert "z[0]" in pi.getAxis("bottom").labelText and "z[1]" in pi.getAxis("left").labelText

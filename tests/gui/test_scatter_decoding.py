"""Clicks and drags on the latent scatter decode the right z into the preview."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import data_pos, decode, send_mouse, set_view
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication


def test_window_shows_the_model_and_test_set(window):
    assert window.model is not None
    x, y = window.scatter.cloud.points()
    assert x.shape == (10_000,)
    assert len(window.scatter.legend.items) == 10
    assert "small.safetensors" in window.model_label.text()
    assert "MNIST" in window.dataset_label.text()
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, [0, 0]))


def test_click_decodes_that_z(window, qtbot):
    set_view(window)
    vp = window.scatter.plot.viewport()
    target = (1.25, -0.75)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=data_pos(window, *target).toPoint())
    z = window.preview.z
    px = window.scatter.vb.viewPixelSize()
    assert abs(z[0] - target[0]) <= 1.5 * px[0] and abs(z[1] - target[1]) <= 1.5 * px[1]
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, z), atol=1e-6)
    assert window.scatter.crosshair_pos() == pytest.approx((z[0], z[1]))


def test_drag_decodes_the_latest_position_without_backlog(window, qtbot):
    set_view(window)
    vp = window.scatter.plot.viewport()
    emitted = []
    window.scatter.latentDragged.connect(emitted.append)
    path = [(-1.0 + 0.05 * i, 0.5 - 0.02 * i) for i in range(40)]
    send_mouse(vp, QEvent.Type.MouseButtonPress, data_pos(window, *path[0]))
    for x, y in path[1:]:  # all delivered before the event loop runs: must coalesce
        send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, x, y), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: len(emitted) >= 1, timeout=2000)
    QApplication.processEvents()
    assert len(emitted) <= 2, "stale drag positions were decoded one by one"
    last = path[-1]
    z = window.preview.z
    px = window.scatter.vb.viewPixelSize()
    assert abs(z[0] - last[0]) <= 1.5 * px[0] and abs(z[1] - last[1]) <= 1.5 * px[1]
    # ... and a second leg of the drag keeps decoding.
    send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, 0.0, -1.0), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: abs(window.preview.z[1] + 1.0) < 2 * px[1], timeout=2000)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, data_pos(window, 0.0, -1.0),
               buttons=Qt.MouseButton.NoButton)
    np.testing.assert_allclose(
        window.preview.canvas.image(), decode(window.model, window.preview.z), atol=1e-6
    )
    # Left-drag decodes; it must not pan the view.
    assert window.scatter.vb.state["mouseEnabled"] == [True, True]


def test_click_on_a_point_shows_input_and_reconstruction(window, qtbot):
    mu = window.latents[0]
    i = int(np.argmin(np.abs(mu[:, 0] - np.median(mu[:, 0])) + np.abs(mu[:, 1] - np.median(mu[:, 1]))))
    vp = window.scatter.plot.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=data_pos(window, *mu[i]).toPoint())
    shown = window.preview.input_view.image()
    assert shown is not None
    # The nearest point on screen is picked; it must be a real test image and its recon.
    j = int(window.preview.selected.text().split("#")[1].split(":")[0])
    np.testing.assert_array_equal(shown, window.test_set.images[j])
    np.testing.assert_allclose(window.preview.recon_view.image(), decode(window.model, mu[j]), atol=1e-6)


def test_hover_shows_a_thumbnail(window, qtbot):
    mu = window.latents[0]
    vp = window.scatter.plot.viewport()
    send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, *mu[7]), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: window.scatter.hover.isVisible(), timeout=2000)
    assert window.scatter.hover.index >= 0


def test_legend_click_hides_and_shows_a_class(window, qtbot):
    legend = window.scatter.legend
    row = legend.row_rect(3)
    scene = legend.mapToScene(row.center())
    pos = window.scatter.plot.mapFromScene(scene)
    vp = window.scatter.plot.viewport()
    before = window.preview.z.copy()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert not window.scatter.cloud.class_visible(3)
    assert window.scatter.cloud.visible_mask().sum() == (window.test_set.labels != 3).sum()
    np.testing.assert_array_equal(window.preview.z, before)  # a legend click is not a decode
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert window.scatter.cloud.class_visible(3)


def test_latent_dims_above_two(window, qtbot):
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(1)
    window.set_model(VAE(VAEConfig(latent_dim=3, hidden_dim=32)))
    s = window.scatter
    assert s.x_dim.isEnabled() and s.x_dim.count() == 3
    s.y_dim.setCurrentIndex(2)
    assert s.dims == (0, 2)
    np.testing.assert_allclose(s.cloud.points()[1], window.latents[0][:, 2])
    s.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    QApplication.processEvents()
    qtbot.mouseClick(s.plot.viewport(), Qt.MouseButton.LeftButton, pos=data_pos(window, 0.5, 1.0).toPoint())
    z = window.preview.z
    assert z.shape == (3,) and z[1] == 0.0
    assert abs(z[0] - 0.5) < 0.05 and abs(z[2] - 1.0) < 0.05
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, z), atol=1e-6)


def test_posterior_marker_and_ellipses(window):
    mu = np.array([0.5, -1.0], np.float32)
    logvar = np.log(np.array([0.25, 0.04], np.float32))
    window._on_canvas_encoded(mu, logvar)
    s = window.scatter
    assert s.posterior_marker.isVisible()
    assert (s.posterior_marker.pos().x(), s.posterior_marker.pos().y()) == (0.5, -1.0)
    r1 = s.posterior_1sd.path().boundingRect()
    assert np.isclose(r1.width(), 2 * 0.5, atol=1e-4)
    assert np.isclose(r1.height(), 2 * 0.2, atol=1e-4)
    assert np.isclose(r1.center().x(), 0.5) and np.isclose(r1.center().y(), -1.0)
    r2 = s.posterior_2sd.path().boundingRect()
    assert np.isclose(r2.width(), 4 * 0.5, atol=1e-4)
    window._on_canvas_encoded(None, None)
    assert not s.posterior_marker.isVisible()


def test_grid_overlay_sits_on_the_visible_range(window, qtbot):
    s = window.scatter
    s.vb.setRange(xRange=(-2, 2), yRange=(-1, 3), padding=0)
    s.overlay_check.setChecked(True)
    assert s.overlay.isVisible()
    (x0, x1), (y0, y1) = s.visible_range()
    r = s.overlay.mapRectToParent(s.overlay.boundingRect())
    assert np.allclose([r.left(), r.right(), r.top(), r.bottom()], [x0, x1, y0, y1], atol=1e-6)
    n = window.grid.grid_size()
    assert s.overlay.image.shape == (28 * n, 28 * n)
    window.overlay_action.setChecked(False)
    assert not s.overlay.isVisible()

"""The scatter in the window: clicks and drags decode into the decoder preview, a picked
point shows its input and reconstruction, the canvas drawing appears as a marker.

What the scatter view does alone (points, dims, crosshair, overlay, hover card, legend)
is tested on the view with a bare state in tests/gui/scatter/.
"""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import data_pos, decode, send_mouse, set_view
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication


def near(window, z, target) -> bool:
    px = window.scatter.vb.viewPixelSize()
    return abs(z[0] - target[0]) <= 1.5 * px[0] and abs(z[1] - target[1]) <= 1.5 * px[1]


def test_window_shows_the_model_and_test_set(window):
    assert window.state.model is not None
    x, y = window.scatter.cloud.points()
    assert x.shape == (10_000,)
    np.testing.assert_allclose(x, window.state.latents[0][:, 0])
    assert len(window.scatter.legend.items) == 10
    assert "small.safetensors" in window.model_label.text()
    assert "MNIST" in window.dataset_label.text()
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, [0, 0]))
    # Nothing is drawn on the canvas yet: no posterior marker on the scatter.
    assert not window.scatter.posterior_marker.isVisible()


def test_click_decodes_that_z(window, qtbot):
    set_view(window)
    vp = window.scatter.plot.viewport()
    target = (1.25, -0.75)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=data_pos(window, *target).toPoint())
    z = window.preview.z
    assert near(window, z, target)
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, z), atol=1e-6)
    assert window.scatter.crosshair_pos() == pytest.approx((z[0], z[1]))


def test_drag_decodes_the_latest_position_without_backlog(window, qtbot):
    set_view(window)
    vp = window.scatter.plot.viewport()
    decoded = []
    window.state.currentZChanged.connect(lambda: decoded.append(window.state.current_z))
    path = [(-1.0 + 0.05 * i, 0.5 - 0.02 * i) for i in range(40)]
    send_mouse(vp, QEvent.Type.MouseButtonPress, data_pos(window, *path[0]))
    for x, y in path[1:]:  # all delivered before the event loop runs: must coalesce
        send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, x, y), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: len(decoded) >= 2, timeout=2000)
    QApplication.processEvents()
    assert len(decoded) <= 2, "stale drag positions were decoded one by one"
    assert near(window, window.preview.z, path[-1])
    # ... and a second leg of the drag keeps decoding.
    send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, 0.0, -1.0), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: near(window, window.preview.z, (0.0, -1.0)), timeout=2000)
    send_mouse(
        vp, QEvent.Type.MouseButtonRelease, data_pos(window, 0.0, -1.0), buttons=Qt.MouseButton.NoButton
    )
    np.testing.assert_allclose(
        window.preview.canvas.image(), decode(window.state.model, window.preview.z), atol=1e-6
    )


def test_click_on_a_point_shows_input_and_reconstruction_until_a_click_elsewhere(window, qtbot):
    mu = window.state.latents[0]
    i = int(np.argmin(np.abs(mu[:, 0] - np.median(mu[:, 0])) + np.abs(mu[:, 1] - np.median(mu[:, 1]))))
    vp = window.scatter.plot.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=data_pos(window, *mu[i]).toPoint())
    # The nearest point on screen is picked; the preview shows that test image and its recon.
    j = window.state.picked_index
    assert j is not None
    np.testing.assert_array_equal(window.preview.input_view.image(), window.state.test_set.images[j])
    np.testing.assert_allclose(
        window.preview.recon_view.image(), decode(window.state.model, mu[j]), atol=1e-6
    )
    assert f"#{j}" in window.preview.selected.text()
    # A click far from every point decodes there and clears the pair (no stale input).
    (x0, x1), (y0, y1) = window.scatter.visible_range()
    corner = (x0 + 0.02 * (x1 - x0), y0 + 0.02 * (y1 - y0))
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=data_pos(window, *corner).toPoint())
    assert window.state.picked_index is None
    assert window.preview.input_view.image() is None
    assert near(window, window.preview.z, corner)


def test_latent_dims_above_two(window, qtbot):
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(1)
    window.state.set_model(VAE(VAEConfig(latent_dim=3, hidden_dim=32)))
    s = window.scatter
    assert s.x_dim.isEnabled() and s.x_dim.count() == 3
    s.x_dim.setCurrentIndex(0)  # (it opened on its two most informative dims)
    s.y_dim.setCurrentIndex(2)
    assert window.state.dims == (0, 2)
    np.testing.assert_allclose(s.cloud.points()[1], window.state.latents[0][:, 2])
    s.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    QApplication.processEvents()
    qtbot.mouseClick(s.plot.viewport(), Qt.MouseButton.LeftButton, pos=data_pos(window, 0.5, 1.0).toPoint())
    z = window.preview.z
    assert z.shape == (3,) and z[1] == 0.0
    assert abs(z[0] - 0.5) < 0.05 and abs(z[2] - 1.0) < 0.05
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, z), atol=1e-6)


def test_a_digit_on_the_canvas_shows_as_the_canvas_marker(window, qtbot):
    marker = window.scatter.posterior_marker
    window.canvas.load_test_digit(3)
    qtbot.waitUntil(lambda: window.state.canvas_posterior is not None, timeout=3000)
    mu = window.state.canvas_posterior[0]
    assert marker.isVisible() and marker.label.isVisible()
    assert (marker.pos().x(), marker.pos().y()) == pytest.approx((mu[0], mu[1]), abs=1e-6)


def test_overlay_menu_action_and_checkbox_agree(window):
    s = window.scatter
    s.vb.setRange(xRange=(-2, 2), yRange=(-1, 3), padding=0)
    window.menus.overlay.setChecked(True)
    assert window.state.overlay and s.overlay_check.isChecked() and s.overlay.isVisible()
    grid = window.state.decoded_grid("visible")
    r = s.overlay.mapRectToParent(s.overlay.boundingRect())
    assert [r.left(), r.top(), r.width(), r.height()] == pytest.approx(list(grid.extent), abs=1e-6)
    s.overlay_check.setChecked(False)
    assert not window.menus.overlay.isChecked() and not s.overlay.isVisible()


# --- layout and input (issue 9, items 10-12) ---------------------------------------------
def at_default_size(window, qtbot):
    """The window at its default 1400 x 900 with the Canvas tab on top, laid out."""
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.size().width() == 1400, timeout=3000)
    window.canvas_dock.raise_()
    qtbot.waitUntil(lambda: window.canvas.isVisible(), timeout=3000)
    QApplication.processEvents()


def test_every_canvas_control_is_visible_at_1400_by_900_without_scrollbars(window, qtbot):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QScrollArea

    at_default_size(window, qtbot)
    scroll = window.canvas_dock.widget()
    assert isinstance(scroll, QScrollArea)
    assert not scroll.verticalScrollBar().isVisible() and not scroll.horizontalScrollBar().isVisible()
    panel = window.canvas
    viewport = scroll.viewport().rect()
    controls = [panel.canvas, panel.original_tile, panel.masked_tile, panel.imputed_tile]
    controls += [panel.spread_tile, panel.draws_strip, panel.latent_label, panel.message_label]
    controls += [
        w for kind in (QAbstractButton, QAbstractSpinBox, QComboBox) for w in panel.findChildren(kind)
    ]
    controls += [w for w in panel.findChildren(QLabel) if w.text()]
    assert panel.load_button in controls and panel.size_spin in controls
    for w in controls:
        assert w.isVisible(), w
        r = w.rect().translated(w.mapTo(scroll.viewport(), w.rect().topLeft()))
        assert viewport.contains(r), (w, r, viewport)
    window.canvas.load_test_digit(3)
    qtbot.waitUntil(lambda: panel.latent_label.text().startswith("Encoded at"), timeout=3000)
    text = panel.latent_label.text()
    assert panel.latent_label.fontMetrics().horizontalAdvance(text) <= panel.latent_label.width()
    # A 10-d model's encoding is a longer line: elided, it never widens the panel (the
    # dock scrolled sideways, cutting the Masked and Spread tiles in half).
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(0)
    window.state.set_model(VAE(VAEConfig(latent_dim=10, hidden_dim=32)).eval(), {"dataset": "mnist"}, None)
    window.canvas.load_test_digit(3)
    qtbot.waitUntil(lambda: "…" in panel.latent_label.text(), timeout=3000)
    QApplication.processEvents()
    assert not scroll.horizontalScrollBar().isVisible()
    assert viewport.contains(
        panel.masked_tile.rect().translated(
            panel.masked_tile.mapTo(scroll.viewport(), panel.masked_tile.rect().topLeft())
        )
    )
    assert panel.latent_label.text() in panel.latent_label.toolTip()


def test_canvas_undo_keys_work_after_a_canvas_toolbar_button_is_clicked(window, qtbot):
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QToolButton

    at_default_size(window, qtbot)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    panel, left = window.canvas, Qt.MouseButton.LeftButton
    canvas = panel.canvas
    qtbot.mousePress(canvas, left, pos=canvas.pixel_center(6, 6).toPoint())
    QTest.mouseMove(canvas, canvas.pixel_center(6, 14).toPoint())
    qtbot.mouseRelease(canvas, left, pos=canvas.pixel_center(6, 14).toPoint())
    painted = canvas.ink_array()
    assert painted.any()
    for action in (panel.tool_actions["mask"], panel.tool_actions["ink"]):
        button = next(b for b in panel.findChildren(QToolButton) if b.defaultAction() is action)
        qtbot.mouseClick(button, left)
    focus = QApplication.focusWidget()
    assert focus is not None
    qtbot.keyClick(focus, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.ink_array().any()
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, redo)
    np.testing.assert_array_equal(canvas.ink_array(), painted)


def test_scatter_legend_is_beside_the_data_and_the_hint_is_whole(window, qtbot):
    at_default_size(window, qtbot)
    s = window.scatter
    s.reset_zoom()
    QApplication.processEvents()
    assert not s.legend.sceneBoundingRect().intersects(s.vb.sceneBoundingRect())
    hint = s.hint
    assert hint.fontMetrics().horizontalAdvance(hint.text()) <= hint.width()
    assert "wheel: zoom" in hint.text()

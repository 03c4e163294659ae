"""The views working together in the window: docks, canvas, unusual latent sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gui_helpers import data_pos, decode, send_mouse, set_view
from PySide6.QtCore import QEvent, QPoint, Qt
from window_helpers import (
    LEFT,
    good_file,
    open_via_menu,
)

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


def _tile_center(canvas, n: int, row: int, col: int) -> QPoint:
    r = canvas.target_rect()
    return QPoint(int(r.x() + (col + 0.5) * r.width() / n), int(r.y() + (row + 0.5) * r.height() / n))


def test_clicking_a_grid_tile_decodes_its_z(window, qtbot):
    window.grid_dock.raise_()
    grid = window.grid
    grid.size_spin.setValue(10)
    assert grid.mosaic.shape == (280, 280)
    qtbot.mouseClick(grid.canvas, Qt.MouseButton.LeftButton, pos=_tile_center(grid.canvas, 10, 2, 7))
    z = window.preview.z
    np.testing.assert_allclose(z, grid.tile_latent(2, 7))
    h = grid.canvas._highlight
    assert (h.x(), h.y(), h.width()) == (7 * 28, 2 * 28, 28)  # the picked tile is outlined
    xs, ys = grid.axes()
    assert np.isclose(z[0], xs[7]) and np.isclose(z[1], ys[::-1][2])  # row 0 is the top
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, z), atol=1e-6)
    # The mosaic tile is that same decoding.
    np.testing.assert_allclose(grid.mosaic[56:84, 196:224], decode(window.state.model, z), atol=1e-6)


def test_grid_follows_the_visible_range(window, qtbot):
    grid = window.grid
    grid.region.setCurrentIndex(1)
    window.scatter.vb.setRange(xRange=(-1, 1), yRange=(0, 2), padding=0)

    def matches() -> bool:
        r = grid.extent()
        (x0, x1), (y0, y1) = window.scatter.visible_range()
        return bool(np.allclose([r.left(), r.right(), r.top(), r.bottom()], [x0, x1, y0, y1]))

    qtbot.waitUntil(matches, timeout=3000)
    (x0, x1), _ = window.scatter.visible_range()
    assert x0 <= -1 + 1e-6 and x1 >= 1 - 1e-6


def test_new_samples(window, qtbot):
    window.samples_dock.raise_()
    first = window.samples.mosaic.copy()
    qtbot.mouseClick(window.samples.new_button, Qt.MouseButton.LeftButton)
    assert window.samples.mosaic.shape == first.shape
    assert not np.allclose(window.samples.mosaic, first)


def test_a_one_dimensional_latent_space(window, qtbot):
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(2)
    window.state.set_model(VAE(VAEConfig(latent_dim=1, hidden_dim=16)))
    x, y = window.scatter.cloud.points()
    np.testing.assert_allclose(x, window.state.latents[0][:, 0])
    assert np.all(y == 0)
    window.grid.refresh()
    z = window.grid.tile_latent(0, 3)
    assert z.shape == (1,)
    window.state.set_current_z(z)
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, z), atol=1e-6)
    assert window.samples.mosaic is not None
    # No second axis: not labelled z[0] again, no ticks of the points' y = 0.
    left = window.scatter.plot.getPlotItem().getAxis("left")
    assert "no second axis" in left.labelText and not left.style["showValues"]
    window.state.set_model(VAE(VAEConfig(latent_dim=2, hidden_dim=16)))  # and back
    assert left.labelText == "z[1]" and left.style["showValues"]


def _canvas(window, qtbot):
    assert window.canvas is not None
    window.canvas_dock.raise_()
    panel = window.canvas
    panel.live_check.setChecked(False)
    return panel


def _impute(qtbot, panel, method: str) -> np.ndarray:
    panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
    if panel.steps_spin.isEnabled():
        panel.steps_spin.setValue(min(panel.steps_spin.value(), 20))  # keep the test quick
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=20_000)  # no stale result
    with qtbot.waitSignal(panel.imputed, timeout=20_000) as blocker:
        panel.impute()
    return blocker.args[0]


@pytest.mark.parametrize("latent_dim", [1, 10])
def test_unusual_latent_sizes_work_everywhere(window, qtbot, tmp_path, monkeypatch, latent_dim):
    torch.manual_seed(latent_dim)
    path = save_checkpoint(
        VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32)), tmp_path / f"z{latent_dim}.safetensors",
        {"dataset": "mnist"},
    )  # fmt: skip
    open_via_menu(window, monkeypatch, path)
    assert window.state.model.latent_dim == latent_dim and window.state.model_path == path
    s = window.scatter
    assert s.x_dim.count() == latent_dim and window.state.latents[0].shape == (10_000, latent_dim)
    if latent_dim > 2:
        assert s.x_dim.isEnabled()
        s.x_dim.setCurrentIndex(9)
        s.y_dim.setCurrentIndex(4)
        assert window.state.dims == (9, 4)
        np.testing.assert_allclose(s.cloud.points()[0], window.state.latents[0][:, 9])
    else:
        assert not s.x_dim.isEnabled()
        assert np.all(s.cloud.points()[1] == 0)
    # Scatter click and drag.
    set_view(window)
    vp = s.plot.viewport()
    qtbot.mouseClick(vp, LEFT, pos=data_pos(window, 0.5, -1.0).toPoint())
    z = window.preview.z
    assert z.shape == (latent_dim,)
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.state.model, z), atol=1e-6)
    if latent_dim > 2:
        assert abs(z[9] - 0.5) < 0.05 and abs(z[4] + 1.0) < 0.05
        assert np.count_nonzero(z) <= 2
    send_mouse(vp, QEvent.Type.MouseButtonPress, data_pos(window, -1, 1))
    send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, 1, 1), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: window.preview.z[window.state.dims[0]] > 0.9, timeout=2000)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, data_pos(window, 1, 1), buttons=Qt.MouseButton.NoButton)
    # Grid: every tile decodes its own z.
    window.grid_dock.raise_()
    window.grid.refresh()
    zt = window.grid.tile_latent(1, 2)
    assert zt.shape == (latent_dim,)
    n = window.grid.grid_size()
    np.testing.assert_allclose(window.grid.mosaic[28:56, 56:84], decode(window.state.model, zt), atol=1e-6)
    assert window.grid.mosaic.shape == (28 * n, 28 * n)
    # Canvas: encoding has the model's size, imputation works, the posterior is drawn.
    panel = _canvas(window, qtbot)
    with qtbot.waitSignal(window.state.canvasPosteriorChanged, timeout=5000):
        panel.load_test_digit(5)
    posterior = window.state.canvas_posterior
    assert posterior is not None and posterior[0].shape == (latent_dim,)
    panel.apply_preset_mask("middle_rows")
    out = _impute(qtbot, panel, "single")
    assert np.isfinite(out).all()
    # ... and back to a 2-d model: nothing stale survives.
    open_via_menu(window, monkeypatch, good_file(tmp_path / "z2.safetensors"))
    assert window.state.dims == (0, 1) and window.preview.z.shape == (2,)
    assert window.state.canvas_posterior is None or window.state.canvas_posterior[0].shape == (2,)


def test_the_canvas_undo_history_is_bounded(window):
    """Hours of painting must not grow memory without limit."""
    from vae_explorer.gui.canvas.paint_canvas import UNDO_LIMIT

    canvas = window.canvas.canvas
    for i in range(UNDO_LIMIT + 50):
        canvas.set_ink(np.full((28, 28), (i % 200 + 1) / 255, np.float32))
    assert canvas.undo_stack.count() == UNDO_LIMIT
    assert canvas.undo_stack.canUndo()


def test_the_overlay_and_the_grid_dock_show_one_grid(window, qtbot):
    from vae_explorer.gui.panels.latent_grid import REGION_GAUSSIAN, REGION_VISIBLE

    grid = window.grid
    assert grid.region.currentText() == REGION_GAUSSIAN
    window.scatter.overlay_check.click()  # the user turns the overlay on
    assert window.state.overlay and grid.region.currentText() == REGION_VISIBLE
    qtbot.waitUntil(lambda: window.scatter.overlay.isVisible(), timeout=3000)
    shown = window.state.decoded_grid("visible")
    np.testing.assert_array_equal(grid.mosaic, shown.mosaic)  # the dock shows the overlay's digits
    grid.region.setCurrentText(REGION_GAUSSIAN)  # back to prior quantiles: the overlay goes off
    assert not window.state.overlay and not window.scatter.overlay_check.isChecked()


def test_no_tooltip_is_one_endless_line(window):
    """Qt draws plain-text tooltips on one line (some ran the width of the screen)."""
    from PySide6.QtWidgets import QWidget

    from vae_explorer.gui.tooltips import ONE_LINE_CHARS, is_rich, wrapped

    assert window.views_ready
    # Tooltips set after the window was built: the run's summary, the canvas's encoding.
    window.training.epochs.setValue(77)
    window.canvas.show_encoding("Encoded at z = (+0.10, −0.20, +0.30, …), σ = (0.51, 0.52, 0.53, …)")
    long_plain = [
        (type(w).__name__, w.toolTip()[:40])
        for w in window.findChildren(QWidget)
        if len(w.toolTip()) > ONE_LINE_CHARS and not is_rich(w.toolTip())
    ]
    assert long_plain == []
    assert wrapped("a < b " * 20).startswith("<p>a &lt; b") and wrapped("short") == "short"


def test_every_control_in_the_docks_says_what_it_does(window):
    """Each button, box, spin box and slider of the docks has a tooltip (its own or its
    label's); Qt's own dock title buttons aside."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSlider,
        QAbstractSpinBox,
        QComboBox,
        QLabel,
        QScrollBar,
    )

    assert window.views_ready
    labelled = {label.buddy() for label in window.findChildren(QLabel) if label.buddy() and label.toolTip()}
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider)
    silent = [
        (type(w).__name__, getattr(w, "text", lambda: "")(), dock.objectName())
        for dock in window.docks
        for kind in kinds
        for w in dock.widget().findChildren(kind)
        if not w.toolTip()
        and w not in labelled
        and not w.objectName().startswith("qt_")
        and not isinstance(w.parentWidget(), QAbstractSpinBox | QComboBox)  # their own parts
        and not isinstance(w, QScrollBar)
    ]
    assert silent == [], silent

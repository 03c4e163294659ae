"""The scatter's right-click menu in the window, driven by real right clicks on test points:
walk from / to a digit (the Walk tab's ends, strip and the path on the scatter), from the
canvas drawing, show in the traversal, copy to the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import data_pos
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

POPUP = pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise", "grabbing the keyboard")


def lonely_points(window, count: int, min_px: float = 14.0) -> list[int]:
    """``count`` test points on screen with no other point within ``min_px`` pixels."""
    s = window.scatter
    x, y = s.cloud.points()
    (x0, x1), (y0, y1) = s.visible_range()
    px, py = s.vb.viewPixelSize()
    legend = s.legend.sceneBoundingRect()
    found: list[int] = []
    for i in np.argsort(np.hypot(x - x.mean(), y - y.mean())):
        d = np.hypot((x - x[i]) / px, (y - y[i]) / py)
        d[i] = np.inf
        pos = data_pos(window, float(x[i]), float(y[i]))
        inside = x0 < x[i] < x1 and y0 < y[i] < y1 and 20 < pos.x() < s.plot.width() - 20
        if inside and d.min() > min_px and not legend.contains(s.plot.mapToScene(pos.toPoint())):
            found.append(int(i))
            if len(found) == count:
                return found
    raise AssertionError("not enough isolated points on screen")


def choose(qtbot, window, index: int, name: str) -> list[str]:
    """Right-click test point ``index``, pick entry ``name``; the entries that were shown."""
    s = window.scatter
    x, y = s.cloud.points()
    qtbot.mouseClick(
        s.plot.viewport(),
        Qt.MouseButton.RightButton,
        pos=data_pos(window, float(x[index]), float(y[index])).toPoint(),
    )
    menu = s.context_menu
    assert menu.isVisible() and menu.index == index
    shown = [a.objectName() for a in menu.shown_actions()]
    if name in shown:
        menu.action(name).trigger()
    menu.hide()
    QApplication.processEvents()
    return shown


def on_top(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


@POPUP
def test_walk_from_and_to_digits_through_the_menu(qtbot, window):
    walk, state = window.walk, window.state
    i, j = lonely_points(window, 2)
    assert walk.ends["A"] is None and walk.ends["B"] is None
    shown = choose(qtbot, window, i, "walk_from")
    assert {"walk_from", "walk_to", "traverse", "copy_to_canvas", "view_all"} <= set(shown)
    assert "walk_from_canvas" not in shown  # nothing is drawn yet
    assert walk.ends["A"].index == i and walk.ends["B"] is None
    assert on_top(window.walk_dock)
    assert "Walk to this digit" in walk.hint.text()

    choose(qtbot, window, j, "walk_to")
    assert walk.ends["B"].index == j
    strip = walk.strips["linear"]
    assert strip.shape == (walk.steps.value(), 28, 28)
    from vae_explorer.core.latent import decode_latents

    mu = state.latents[0]
    np.testing.assert_allclose(strip[0], decode_latents(state.model, mu[i : i + 1])[0], atol=1e-5)
    np.testing.assert_allclose(strip[-1], decode_latents(state.model, mu[j : j + 1])[0], atol=1e-5)
    xs, ys = window.walk_path_item.getData()
    np.testing.assert_allclose([xs[0], ys[0]], mu[i], atol=1e-5)
    np.testing.assert_allclose([xs[-1], ys[-1]], mu[j], atol=1e-5)
    assert state.picked_index is None  # right clicks pick nothing


@POPUP
def test_walk_to_without_a_start_walks_from_the_picked_digit(qtbot, window):
    i, j = lonely_points(window, 2)
    window.state.set_picked_index(i)
    choose(qtbot, window, j, "walk_to")
    assert window.walk.ends["A"].index == i and window.walk.ends["B"].index == j
    assert "linear" in window.walk.strips


@POPUP
def test_walk_from_the_canvas_drawing(qtbot, window):
    state = window.state
    (j,) = lonely_points(window, 1)
    window.canvas.load_test_digit(5)
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=5000)
    assert "walk_from_canvas" in choose(qtbot, window, j, "walk_from_canvas")
    a, b = window.walk.ends["A"], window.walk.ends["B"]
    assert a.label == "the canvas drawing" and a.index is None and b.index == j
    np.testing.assert_allclose(a.z, state.canvas_posterior[0])


@POPUP
def test_show_in_traversal_and_copy_to_canvas(qtbot, window):
    state = window.state
    i, j = lonely_points(window, 2)
    choose(qtbot, window, i, "traverse")
    mu = state.latents[0][i]
    np.testing.assert_allclose(state.current_z, mu)
    assert state.picked_index == i
    assert on_top(window.traversal_dock)
    t = window.traversal
    for d in range(len(t.sliders)):  # the sliders start at that digit's code
        assert abs(t.slider_value(d) - mu[d]) <= (t._span(d)[1] - t._span(d)[0]) / 400 + 1e-6

    choose(qtbot, window, j, "copy_to_canvas")
    assert on_top(window.canvas_dock)
    assert window.canvas.index_spin.value() == j


@POPUP
def test_a_wider_model_opened_with_a_walk_set_clears_the_path_without_error(qtbot, window):
    """The new model's dims (its most informative, e.g. z[3]) come before the walk is
    cleared: the old 2-d path must not be drawn on them."""
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    i, j = lonely_points(window, 2)
    choose(qtbot, window, i, "walk_from")
    choose(qtbot, window, j, "walk_to")
    assert len(window.walk_path_item.getData()[0]) > 0
    torch.manual_seed(4)
    window.state.set_model(VAE(VAEConfig(latent_dim=6, hidden_dim=16)), {"dataset": "mnist"})
    QApplication.processEvents()
    assert window.last_error is None
    xs, _ = window.walk_path_item.getData()
    assert xs is None or len(xs) == 0


@POPUP
def test_scrubbed_back_a_test_image_is_paired_with_its_code_of_that_epoch(
    qtbot, make_window, history_checkpoint
):
    """Scrubbed back, the preview's "reconstruction" decoded the current model's code of the
    picked image with the past epoch's decoder (neither model's reconstruction), and a walk
    or a traversal from a point started away from the point clicked."""
    from vae_explorer.core.latent import decode_latents

    path, models = history_checkpoint
    window = make_window(path)
    state = window.state
    window.timeline.set_epoch(1.0)
    QApplication.processEvents()
    past = state.scrub.latents()
    assert past is not None and not np.allclose(past.mu, state.latents[0], atol=1e-2)
    i, j = lonely_points(window, 2)
    state.set_picked_index(i)
    QApplication.processEvents()
    expected = decode_latents(models[1], past.mu[i : i + 1])[0]
    np.testing.assert_allclose(window.preview.recon_view.image(), expected, atol=5e-3)

    choose(qtbot, window, j, "walk_to")  # (from the picked image, to this one)
    a, b = window.walk.ends["A"], window.walk.ends["B"]
    np.testing.assert_allclose(a.z, past.mu[i])
    np.testing.assert_allclose(b.z, past.mu[j])
    window.timeline.set_epoch(2.0)  # the ends are the images', so they move with the epoch
    QApplication.processEvents()
    np.testing.assert_allclose(window.walk.ends["B"].z, state.scrub.latents().mu[j])

    choose(qtbot, window, j, "traverse")
    np.testing.assert_allclose(state.current_z, state.scrub.latents().mu[j])

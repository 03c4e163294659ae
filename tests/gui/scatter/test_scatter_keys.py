"""The latent scatter from the keyboard (scatter/keys.py): the arrow keys move the crosshair
and decode, Enter picks the nearest test point, Menu opens the right-click menu, + and -
zoom; the plot is a stop of the Tab chain and shows a focus ring."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from vae_explorer.core.rendering import nearest_point
from vae_explorer.gui.scatter.keys import FAR_STEP, STEP, ZOOM


@pytest.fixture
def keyed(qtbot, view):
    view.vb.disableAutoRange()
    view.vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    view.state.set_current_z([0.0, 0.0])
    view.plot.setFocus()
    qtbot.waitUntil(view.plot.hasFocus, timeout=3000)
    return view


def press(qtbot, view, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(view.plot, key, modifier)


def test_the_arrow_keys_move_the_crosshair_and_decode_there(qtbot, keyed):
    view = keyed
    (x0, x1), (y0, y1) = view.visible_range()
    press(qtbot, view, Qt.Key.Key_Right)
    assert view.crosshair_pos() == pytest.approx((STEP * (x1 - x0), 0.0), abs=1e-6)
    np.testing.assert_allclose(view.state.current_z, [STEP * (x1 - x0), 0.0], atol=1e-5)
    press(qtbot, view, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)  # farther
    assert view.crosshair_pos() == pytest.approx((STEP * (x1 - x0), FAR_STEP * (y1 - y0)), abs=1e-6)
    for _ in range(3):
        press(qtbot, view, Qt.Key.Key_Left)
    assert view.crosshair_pos()[0] == pytest.approx(-2 * STEP * (x1 - x0), abs=1e-6)


def test_the_view_follows_a_crosshair_that_would_leave_it(qtbot, keyed):
    view = keyed
    (_, x1), _ = view.visible_range()
    view.state.set_current_z([x1 - 0.01, 0.0])
    press(qtbot, view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    x, _ = view.crosshair_pos()
    (a, b), _ = view.visible_range()
    assert x > x1 and a <= x <= b  # past the old edge, still in sight


def test_enter_picks_the_test_point_nearest_the_crosshair(qtbot, keyed):
    view = keyed
    view.state.set_current_z([0.4, -0.3])
    press(qtbot, view, Qt.Key.Key_Return)
    x, y = view.cloud.points()
    sx, sy = view.vb.viewPixelSize()
    expected, _ = nearest_point(x, y, 0.4, -0.3, sx, sy, view.cloud.visible_mask())
    assert view.state.picked_index == expected
    assert view.crosshair_pos() == pytest.approx((x[expected], y[expected]), abs=1e-6)  # on it


def test_the_menu_key_opens_the_right_click_menu_at_the_crosshair(qtbot, keyed, monkeypatch):
    view = keyed
    opened = []
    monkeypatch.setattr(view.context_menu, "open_at", lambda i, xy, screen: opened.append((i, xy, screen)))
    view.state.set_current_z([1.0, 0.5])
    press(qtbot, view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    press(qtbot, view, Qt.Key.Key_Menu)
    assert len(opened) == 2 and opened[0][1] == pytest.approx((1.0, 0.5))
    spot = view.plot.viewport().mapToGlobal(view.data_to_viewport(1.0, 0.5).toPoint())
    assert opened[0][2] == spot


def test_plus_and_minus_zoom_about_the_crosshair(qtbot, keyed):
    view = keyed
    view.state.set_current_z([1.0, 1.0])
    (x0, x1), _ = view.visible_range()
    press(qtbot, view, Qt.Key.Key_Plus)
    (a, b), _ = view.visible_range()
    assert b - a == pytest.approx(ZOOM * (x1 - x0), rel=1e-3)
    assert (1.0 - a) / (b - a) == pytest.approx((1.0 - x0) / (x1 - x0), rel=1e-3)  # it stays put
    press(qtbot, view, Qt.Key.Key_Minus)
    (a, b), _ = view.visible_range()
    assert b - a == pytest.approx(x1 - x0, rel=1e-3)


def test_the_keys_act_only_while_the_plot_has_the_focus(qtbot, keyed):
    view = keyed
    view.overlay_check.setFocus()
    qtbot.waitUntil(lambda: not view.plot.hasFocus(), timeout=3000)
    before = view.crosshair_pos()
    qtbot.keyClick(view.overlay_check, Qt.Key.Key_Right)
    assert view.crosshair_pos() == before


def test_the_focused_plot_draws_a_ring(qtbot, keyed):
    view = keyed

    def edge_colour() -> int:
        image: QImage = view.plot.viewport().grab().toImage()
        return image.pixel(image.width() // 2, 0)

    focused = edge_colour()
    view.overlay_check.setFocus()
    qtbot.waitUntil(lambda: not view.plot.hasFocus(), timeout=3000)
    assert edge_colour() != focused
    assert focused == view.plot.palette().highlight().color().rgb()


def test_an_export_never_holds_the_focus_ring(qtbot, keyed):
    """The SVG export renders the view itself (scatter/export.py): with the plot focused
    (its menu opened from the keyboard) the ring went into the file."""
    from PySide6.QtGui import QPainter

    view = keyed

    def rendered() -> QImage:
        size = view.plot.viewport().size()
        image = QImage(size, QImage.Format.Format_RGB32)
        image.fill(0)
        painter = QPainter(image)
        view.plot.render(painter)
        painter.end()
        return image

    focused = rendered()
    view.overlay_check.setFocus()
    qtbot.waitUntil(lambda: not view.plot.hasFocus(), timeout=3000)
    assert focused == rendered()


def test_the_digit_keys_hide_and_show_a_class_as_the_legend_does(qtbot, keyed):
    view = keyed
    labels = view.state.test_set.labels
    shown = view.cloud.visible_mask().sum()
    press(qtbot, view, Qt.Key.Key_3)
    assert not view.cloud.class_visible(3) and view.cloud.visible_mask().sum() == shown - (labels == 3).sum()
    press(qtbot, view, Qt.Key.Key_3)
    assert view.cloud.class_visible(3) and view.cloud.visible_mask().sum() == shown

"""View -> state: real mouse and keyboard input on the scatter changes the ExplorerState."""

from __future__ import annotations

import numpy as np
from gui_helpers import send_mouse
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QEnterEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from scatter_helpers import empty_spot, isolated_point, untrained_model, viewport_xy

from vae_explorer.gui.scatter.hover_card import CURSOR_OFFSET
from vae_explorer.gui.scatter.hovering import HOVER_MS


def near(view, xy, expected, px_tolerance: float = 1.5) -> bool:
    px, py = view.vb.viewPixelSize()
    return abs(xy[0] - expected[0]) <= px_tolerance * px and abs(xy[1] - expected[1]) <= px_tolerance * py


def click(qtbot, view, x: float, y: float) -> None:
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=viewport_xy(view, x, y).toPoint())


def let_timers_run(qtbot, ms: int) -> None:
    """Run the event loop for ``ms``: long enough for a pending throttled call to fire."""
    fired = []
    QTimer.singleShot(ms, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=ms + 2000)


def test_click_on_a_point_picks_it_and_decodes_there(view, state, qtbot):
    i = isolated_point(view)
    x, y = view.cloud.points()
    click(qtbot, view, x[i], y[i])
    assert state.picked_index == i
    assert near(view, state.current_z, (x[i], y[i]))
    assert view.crosshair_pos() is not None and near(view, view.crosshair_pos(), (x[i], y[i]))


def test_click_on_empty_space_decodes_there_and_clears_the_pick(view, state, qtbot):
    i = isolated_point(view)
    x, y = view.cloud.points()
    click(qtbot, view, x[i], y[i])
    assert state.picked_index == i
    target = empty_spot(view)
    with qtbot.waitSignal(state.pickedIndexChanged, timeout=1000):
        click(qtbot, view, *target)
    assert state.picked_index is None
    assert near(view, state.current_z, target)


def test_a_hidden_class_cannot_be_picked(view, state, qtbot):
    i = isolated_point(view)
    view.cloud.set_class_visible(int(state.test_set.labels[i]), False)
    x, y = view.cloud.points()
    click(qtbot, view, x[i], y[i])
    assert state.picked_index != i


def test_drag_sets_current_z_to_the_last_position_without_backlog(view, state, qtbot):
    view.vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    vp = view.plot.viewport()
    seen = []
    state.currentZChanged.connect(lambda: seen.append(state.current_z.copy()))
    path = [(-1.0 + 0.05 * i, 0.5 - 0.02 * i) for i in range(40)]
    send_mouse(vp, QEvent.Type.MouseButtonPress, viewport_xy(view, *path[0]))
    assert len(seen) == 1 and near(view, seen[0], path[0])  # a press decodes at once
    for x, y in path[1:]:  # all delivered before the event loop runs: must coalesce
        send_mouse(vp, QEvent.Type.MouseMove, viewport_xy(view, x, y), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=2000)
    QApplication.processEvents()
    assert len(seen) == 2, "stale drag positions were decoded one by one"
    assert near(view, state.current_z, path[-1])
    # A second leg keeps decoding; the release lands the last position.
    send_mouse(vp, QEvent.Type.MouseMove, viewport_xy(view, 0.0, -1.0), Qt.MouseButton.NoButton)
    send_mouse(vp, QEvent.Type.MouseMove, viewport_xy(view, 0.5, -1.5), Qt.MouseButton.NoButton)
    send_mouse(
        vp, QEvent.Type.MouseButtonRelease, viewport_xy(view, 0.5, -1.5), buttons=Qt.MouseButton.NoButton
    )
    assert near(view, state.current_z, (0.5, -1.5))
    assert state.picked_index is None  # a drag is not a click
    # Left-drag decodes; it must not pan the view (its centre stays where it was).
    (x0, x1), (y0, y1) = view.visible_range()
    assert np.allclose([(x0 + x1) / 2, (y0 + y1) / 2], [0.0, 0.0], atol=1e-9)


def test_combos_set_the_dims(view, state, qtbot):
    state.set_model(untrained_model(3))
    state.set_dims(0, 1)  # (it opened on its two most informative)
    view.y_dim.setFocus()
    QTest.keyClick(view.y_dim, Qt.Key.Key_Down)
    assert state.dims == (0, 2)
    QTest.keyClick(view.x_dim, Qt.Key.Key_Down)
    assert state.dims == (1, 2)
    # The state's dims may change elsewhere (a saved setting): the combos follow.
    state.set_dims(2, 1)
    assert (view.x_dim.currentIndex(), view.y_dim.currentIndex()) == (2, 1)
    # A click decodes a full code: the shown dims from the click, the others 0.
    view.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    click(qtbot, view, 0.5, 1.0)
    z = state.current_z
    assert z.shape == (3,) and z[0] == 0.0
    assert near(view, (z[2], z[1]), (0.5, 1.0))


def test_overlay_checkbox_sets_the_state(view, state, qtbot):
    qtbot.mouseClick(view.overlay_check, Qt.MouseButton.LeftButton)
    assert state.overlay and view.overlay.isVisible()
    qtbot.mouseClick(view.overlay_check, Qt.MouseButton.LeftButton)
    assert not state.overlay and not view.overlay.isVisible()


def test_zoom_and_pan_set_the_visible_range_after_a_pause(view, state, qtbot):
    view.vb.setRange(xRange=(-1, 1), yRange=(0, 2), padding=0)
    with qtbot.waitSignal(state.visibleRangeChanged, timeout=2000):
        pass
    assert np.allclose(state.visible_range, view.visible_range())
    # The wheel zooms (pyqtgraph's own handling) and the state follows.
    before = view.visible_range()
    vp = view.plot.viewport()
    QTest.mouseMove(vp, vp.rect().center())
    with qtbot.waitSignal(state.visibleRangeChanged, timeout=2000):
        _wheel(vp, 240)
    assert view.visible_range()[0][1] - view.visible_range()[0][0] < before[0][1] - before[0][0]
    assert np.allclose(state.visible_range, view.visible_range())


def _wheel(widget, delta: int) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    pos = QPointF(widget.rect().center())
    ev = QWheelEvent(
        pos,
        QPointF(widget.mapToGlobal(pos.toPoint())),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, ev)


def test_legend_click_hides_and_shows_a_class(view, state, qtbot):
    row = view.legend.row_rect(3)
    pos = view.plot.mapFromScene(view.legend.mapToScene(row.center()))
    before = state.current_z.copy()
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert not view.cloud.class_visible(3)
    assert view.cloud.visible_mask().sum() == (state.test_set.labels != 3).sum()
    np.testing.assert_array_equal(state.current_z, before)  # a legend click is not a decode
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert view.cloud.class_visible(3)


# --- the hover card -------------------------------------------------------------------------
def hover(view, x: float, y: float) -> None:
    send_mouse(
        view.plot.viewport(),
        QEvent.Type.MouseMove,
        viewport_xy(view, x, y),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )


def test_hover_shows_a_thumbnail(view, state, qtbot):
    i = isolated_point(view)
    x, y = view.cloud.points()
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    assert view.hover.index == i
    label = int(state.test_set.labels[i])
    assert view.hover.text.text() == f"{state.test_set.classes[label]}  ·  #{i}"
    # Moving off the points hides it.
    hover(view, *empty_spot(view))
    qtbot.waitUntil(lambda: not view.hover.isVisible(), timeout=2000)


def test_hover_card_hidden_after_a_press_even_with_a_hover_pending(view, qtbot):
    i = isolated_point(view)
    x, y = view.cloud.points()
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    hover(view, x[i], y[i])  # pending: the card would be refreshed after HOVER_MS
    send_mouse(view.plot.viewport(), QEvent.Type.MouseButtonPress, viewport_xy(view, x[i], y[i]))
    assert not view.hover.isVisible()
    let_timers_run(qtbot, 4 * HOVER_MS)
    assert not view.hover.isVisible(), "a hover pending at the press brought the card back"
    send_mouse(
        view.plot.viewport(),
        QEvent.Type.MouseButtonRelease,
        viewport_xy(view, x[i], y[i]),
        buttons=Qt.MouseButton.NoButton,
    )


def test_hover_card_hidden_after_leaving_even_with_a_hover_pending(view, qtbot):
    i = isolated_point(view)
    x, y = view.cloud.points()
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    hover(view, x[i], y[i])  # pending
    QApplication.sendEvent(view.plot, QEvent(QEvent.Type.Leave))
    assert not view.hover.isVisible()
    let_timers_run(qtbot, 4 * HOVER_MS)
    assert not view.hover.isVisible(), "a hover pending when the mouse left brought the card back"
    # ... and it works again when the mouse comes back.
    QApplication.sendEvent(view.plot, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)


def test_the_dim_combos_widen_for_a_wider_models_names(view, state, qtbot):
    """ "z[27]" whole, not "z[27" in a box sized for "z[1]" at the first show."""
    view.show()
    qtbot.waitExposed(view)
    state.set_model(untrained_model(40))
    state.set_dims(27, 33)
    QApplication.processEvents()
    for combo in (view.x_dim, view.y_dim):
        text = combo.currentText()
        # The text and the arrow's ~28 px (Fusion): "z[27]" fits.
        assert combo.fontMetrics().horizontalAdvance(text) + 28 <= combo.width(), (text, combo.width())


def card_beside(view, x: float, y: float) -> bool:
    """Whether the hover card sits beside the data point (x, y) as shown now."""
    at = viewport_xy(view, x, y)
    dx, dy = view.hover.x() - (at.x() + CURSOR_OFFSET), view.hover.y() - (at.y() + CURSOR_OFFSET)
    return abs(dx) <= 2 and abs(dy) <= 2


def test_the_hover_card_stays_with_its_point_when_the_view_zooms(view, state, qtbot):
    """Ctrl+0, a wheel zoom or a pan move the point: the card moves with it, never left
    over an empty spot (or another point) captioned with the old one."""
    i = isolated_point(view)
    x, y = view.cloud.points()
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    assert card_beside(view, x[i], y[i])
    before = view.hover.pos()
    view.vb.scaleBy((0.9, 0.9), center=QPointF(x[i] + 0.5, y[i] + 0.5))
    qtbot.waitUntil(lambda: view.hover.pos() != before, timeout=2000)  # (at the repaint)
    assert view.hover.isVisible() and view.hover.index == i and card_beside(view, x[i], y[i])
    # Panned until the point is off screen: no card.
    (x0, x1), (y0, y1) = view.visible_range()
    view.vb.setRange(xRange=(x[i] + 2 * (x1 - x0), x[i] + 3 * (x1 - x0)), padding=0)
    qtbot.waitUntil(lambda: not view.hover.isVisible(), timeout=2000)


def test_the_hover_card_follows_its_point_to_new_latents(view, state, qtbot):
    """A training snapshot moves the points under a card on show: it goes with its point."""
    i = isolated_point(view)
    x, y = view.cloud.points()
    hover(view, x[i], y[i])
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    mu, logvar = state.latents
    moved = mu * 0.98
    state.set_model(state.model, latents=(moved, logvar), live=True)
    xs, ys = view.cloud.points()
    assert (xs[i], ys[i]) != (x[i], y[i])
    assert view.hover.isVisible() and card_beside(view, xs[i], ys[i])
    # Its class hidden from the legend: no card.
    view.legend.classToggled.emit(int(state.test_set.labels[i]), False)
    assert not view.hover.isVisible()


def test_clip_polyline_cuts_a_path_at_the_frame():
    from PySide6.QtCore import QRectF

    from vae_explorer.gui.scatter.svg_clip import clip_polyline

    rect = QRectF(0.0, 0.0, 1.0, 1.0)
    x, y = clip_polyline(np.array([-1.0, 0.5, 2.0, 2.0, 0.5]), np.array([0.5, 0.5, 0.5, 0.8, 0.8]), rect)
    # In at the left edge, out at the right, back in higher up: two pieces.
    np.testing.assert_allclose(x, [0.0, 0.5, 1.0, np.nan, 1.0, 0.5])
    np.testing.assert_allclose(y, [0.5, 0.5, 0.5, np.nan, 0.8, 0.8])
    x, y = clip_polyline(np.array([2.0, 3.0]), np.array([2.0, 3.0]), rect)  # all outside
    assert x.size == 0 and y.size == 0


def test_a_tick_label_at_the_top_of_the_plot_has_room(view):
    """The y axis's top label ("10" at 1024 x 700) was cut in half by the widget's edge."""
    _, top, _, _ = view.plot.getPlotItem().layout.getContentsMargins()
    assert top >= view.plot.fontMetrics().height() / 2


def test_clip_polyline_leaves_a_path_inside_whole():
    from PySide6.QtCore import QRectF

    from vae_explorer.gui.scatter.svg_clip import clip_polyline

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 0.9, 50), rng.uniform(0.1, 0.9, 50)
    cx, cy = clip_polyline(x, y, QRectF(0.0, 0.0, 1.0, 1.0))
    np.testing.assert_array_equal(cx, x)  # no breaks, no computed copies of its points
    np.testing.assert_array_equal(cy, y)

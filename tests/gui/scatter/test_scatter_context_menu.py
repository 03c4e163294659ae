"""The scatter's right-click menu on the view alone: a right click (real mouse events) on a
point opens it on that test image, on empty space on the point of the plane; a right drag
pans and opens nothing; entries run with what they were opened on."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import send_mouse
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QApplication
from scatter_helpers import empty_spot, isolated_point, viewport_xy

RIGHT = Qt.MouseButton.RightButton
# The offscreen platform cannot raise a popup or grab the keyboard for it: not a failure.
# (On each test: the item's own mark is the one pytest-qt reads.)
POPUP = pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise", "grabbing the keyboard")


def right_click(qtbot, view, x: float, y: float) -> None:
    qtbot.mouseClick(view.plot.viewport(), RIGHT, pos=viewport_xy(view, x, y).toPoint())
    QApplication.processEvents()


def close(menu) -> None:
    menu.hide()
    QApplication.processEvents()


@POPUP
def test_right_click_on_a_point_opens_its_menu(qtbot, view, state):
    got: list[int] = []
    menu = view.context_menu
    menu.add_point_action("probe", "Probe", "tip", got.append)
    i = isolated_point(view)
    x, y = view.cloud.points()
    right_click(qtbot, view, float(x[i]), float(y[i]))
    assert menu.isVisible() and menu.index == i
    label = state.test_set.classes[int(state.test_set.labels[i])]
    assert menu.actions()[0].text() == f"Test digit #{i} ({label})"
    names = [a.objectName() for a in menu.shown_actions()]
    assert names[0] == "probe" and "view_all" in names
    menu.action("probe").trigger()
    assert got == [i]
    close(menu)
    # A right click is not a left one: nothing was picked or decoded there.
    assert state.picked_index is None


@POPUP
def test_right_click_on_empty_space_offers_its_code_and_view_all(qtbot, view, state):
    codes: list[np.ndarray] = []
    menu = view.context_menu
    menu.add_point_action("probe", "Probe", "tip", lambda i: None)
    menu.add_space_action("here", "Here", "tip", codes.append)
    cx, cy = empty_spot(view)
    right_click(qtbot, view, cx, cy)
    assert menu.isVisible() and menu.index is None
    names = [a.objectName() for a in menu.shown_actions()]
    assert "probe" not in names and names[0] == "here" and "view_all" in names
    menu.action("here").trigger()
    close(menu)
    px, py = view.vb.viewPixelSize()  # the click lands on a whole pixel
    np.testing.assert_allclose(codes[0], [cx, cy], atol=1.5 * max(px, py))

    view.vb.setRange(xRange=(50, 60), yRange=(50, 60), padding=0)  # away from every point
    QApplication.processEvents()
    menu.action("view_all").trigger()
    QApplication.processEvents()
    (x0, x1), _ = view.visible_range()
    assert x0 < float(view.cloud.points()[0].min()) < x1


@POPUP
def test_an_entry_that_does_not_apply_is_not_shown(qtbot, view):
    menu = view.context_menu
    on = {"now": False}
    menu.add_point_action("maybe", "Maybe", "tip", lambda i: None, lambda: on["now"])
    i = isolated_point(view)
    x, y = view.cloud.points()
    right_click(qtbot, view, float(x[i]), float(y[i]))
    assert "maybe" not in [a.objectName() for a in menu.shown_actions()]
    close(menu)
    on["now"] = True
    right_click(qtbot, view, float(x[i]), float(y[i]))
    assert "maybe" in [a.objectName() for a in menu.shown_actions()]
    close(menu)


@POPUP
def test_right_drag_pans_without_a_menu(qtbot, view):
    vp = view.plot.viewport()
    (x0, _), _ = view.visible_range()
    a, b = vp.rect().center(), vp.rect().center()
    b.setX(b.x() + 60)
    send_mouse(vp, QEvent.Type.MouseButtonPress, a.toPointF(), RIGHT, RIGHT)
    for k in range(1, 7):
        p = a.toPointF()
        p.setX(p.x() + 10 * k)
        send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, RIGHT)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, b.toPointF(), RIGHT, Qt.MouseButton.NoButton)
    QApplication.processEvents()
    assert not view.context_menu.isVisible()
    assert view.visible_range()[0][0] < x0  # dragged right: the view moved left


@POPUP
def test_the_hover_card_mentions_the_menu_until_it_was_opened(qtbot, view):
    i = isolated_point(view)
    x, y = view.cloud.points()
    view.hovering.show_at(QPointF(float(x[i]), float(y[i])))
    assert view.hover.isVisible() and "right-click" in view.hover.hint.text()
    right_click(qtbot, view, float(x[i]), float(y[i]))
    close(view.context_menu)
    send_mouse(
        view.plot.viewport(),
        QEvent.Type.MouseMove,
        viewport_xy(view, float(x[i]), float(y[i])),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    assert view.hover.hint.isHidden()

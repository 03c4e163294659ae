"""The scatter's grid: its own item with lines at the axes' ticks (not the axes' grid)."""

from __future__ import annotations

import pytest
from scatter_helpers import set_range


def _positions(view):
    major = view.grid_lines.lines()[0]
    xs = sorted({round(line.x1(), 9) for line in major if line.x1() == line.x2()})
    ys = sorted({round(line.y1(), 9) for line in major if line.y1() == line.y2()})
    return xs, ys


def test_grid_lines_sit_on_the_axes_major_ticks_and_follow_a_zoom(view, qtbot):
    pi = view.plot.getPlotItem()
    assert pi.getAxis("bottom").grid is False and pi.getAxis("left").grid is False
    set_range(view, (-3.0, 3.0), (-3.0, 3.0))
    xs, ys = _positions(view)
    assert 0.0 in xs and 0.0 in ys and len(xs) >= 3
    (x0, x1), (y0, y1) = view.vb.viewRange()
    ticks = pi.getAxis("bottom").tickValues(x0, x1, view.vb.width())[0][1]
    assert xs == pytest.approx(sorted(ticks))
    set_range(view, (10.0, 10.5), (10.0, 10.5))
    xs, ys = _positions(view)
    assert all(10.0 <= x <= 10.5 + 1e-9 for x in xs) and len(xs) >= 2
    assert view.grid_lines.boundingRect().contains(view.vb.viewRect().center())


def test_the_grid_is_drawn_under_the_points_and_over_the_overlay(view):
    assert view.overlay.zValue() < view.grid_lines.zValue() < view.cloud.zValue()


def test_a_crosshair_move_reuses_the_lines_and_a_resize_recomputes_them(view, qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    view.show()
    qtbot.waitExposed(view)
    set_range(view, (-3.0, 3.0), (-3.0, 3.0))
    calls = []
    real = type(view.grid_lines).lines
    monkeypatch.setattr(type(view.grid_lines), "lines", lambda self: calls.append(1) or real(self))
    view.plot.viewport().repaint()
    first = len(calls)
    view.crosshair.setPos(1.0, 1.0)
    view.plot.viewport().repaint()
    assert len(calls) == first  # the same view: the lines are reused
    view.resize(view.width() + 120, view.height())
    QApplication.processEvents()
    view.plot.viewport().repaint()
    assert len(calls) > first

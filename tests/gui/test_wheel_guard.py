"""The wheel over a control inside a scroll area scrolls the area until the control has focus."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.gui.wheel_guard import install_wheel_guard


def _wheel(widget: QWidget, notches: int = 1) -> None:
    """A real wheel turn of ``notches`` steps (positive: away from the user) over the middle
    of ``widget``, through its window as the platform delivers one (so Qt's own handling,
    the focus a wheel may give included, runs before the application's filters)."""
    window = widget.window()
    at = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), QPointF(at), QPoint(0, 120 * notches))
    QApplication.processEvents()


@pytest.fixture
def panel(qtbot):
    """A short scroll area over a tall column: a spin box, a combo box, a plot, padding;
    the keyboard focus on a line edit above them."""
    install_wheel_guard(QApplication.instance())
    inner = QWidget()
    column = QVBoxLayout(inner)
    elsewhere, spin, combo, plot = QLineEdit(), QSpinBox(), QComboBox(), pg.PlotWidget()
    spin.setRange(0, 100)
    spin.setValue(50)
    combo.addItems(["a", "b", "c"])
    plot.setMinimumHeight(200)
    for w in (elsewhere, spin, combo, plot):
        column.addWidget(w)
    column.addSpacing(1500)
    area = QScrollArea()
    area.setWidget(inner)
    area.setWidgetResizable(True)
    area.resize(300, 300)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    elsewhere.setFocus()
    qtbot.waitUntil(elsewhere.hasFocus)
    area.verticalScrollBar().setValue(100)
    return area, spin, combo, plot


def test_unfocused_controls_scroll_the_area_instead_of_changing(panel):
    area, spin, combo, plot = panel
    bar = area.verticalScrollBar()
    plot_range = plot.getViewBox().viewRange()
    for target in (spin, combo, plot):
        area.ensureWidgetVisible(target)
        QApplication.processEvents()
        before = bar.value()
        _wheel(target, -1)  # towards the user: scroll down
        assert bar.value() > before, target
    assert spin.value() == 50
    assert combo.currentIndex() == 0
    assert not (spin.hasFocus() or combo.hasFocus())
    assert plot.getViewBox().viewRange() == plot_range


def test_a_focused_control_takes_the_wheel(panel, qtbot):
    area, spin, combo, _ = panel
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    area.ensureWidgetVisible(spin)
    _wheel(spin, 1)
    assert spin.value() == 51
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    area.ensureWidgetVisible(combo)
    _wheel(combo, -1)
    assert combo.currentIndex() == 1


def test_controls_outside_scroll_areas_keep_the_wheel(qtbot):
    install_wheel_guard(QApplication.instance())
    spin = QSpinBox()
    spin.setValue(5)
    qtbot.addWidget(spin)
    spin.show()
    qtbot.waitExposed(spin)
    _wheel(spin, 1)
    assert spin.value() == 6


def test_the_training_form_does_not_change_under_a_scrolling_wheel(window):
    form = window.training.form
    epochs = form.epochs.value()
    likelihood = form.likelihood.currentIndex()
    window.setFocus()
    _wheel(form.epochs, 3)
    _wheel(form.likelihood, -1)
    assert not (form.epochs.hasFocus() or form.likelihood.hasFocus())
    assert form.epochs.value() == epochs
    assert form.likelihood.currentIndex() == likelihood

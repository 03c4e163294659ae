"""How sure the model is about an imputation: the strip of draws and the spread map, new
draws at each press of Impute, steady draws while painting live; the canvas' wording."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from canvas_helpers import LEFT, digits, expected_preset, make_model, stroke
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea, QToolButton

from vae_explorer.gui.canvas.impute_runner import DRAWS


def masked_digit(state, panel, method: str) -> np.ndarray:
    state.set_dataset("synthetic", digits())
    state.set_model(make_model(2))
    panel.load_test_digit(1)
    panel.apply_preset_mask("middle_rows")
    panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
    return panel.canvas.ink_array()


def press_impute(qtbot, panel):
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        qtbot.mouseClick(panel.impute_button, LEFT)
    return panel.imputation_draws(), panel.imputation_spread()


@pytest.mark.parametrize("method", ["pseudo_gibbs", "mwg", "importance"])
def test_each_press_draws_anew_and_the_strip_and_spread_show_them(qtbot, state, panel, method):
    ink = masked_digit(state, panel, method)
    mask = expected_preset("middle_rows")
    assert panel.imputation_draws() is None and panel.imputation_spread() is None
    draws1, spread1 = press_impute(qtbot, panel)
    draws2, spread2 = press_impute(qtbot, panel)
    for draws, spread in ((draws1, spread1), (draws2, spread2)):
        assert draws.shape == (DRAWS, 28, 28) and spread.shape == (28, 28)
        for d in draws:  # every draw keeps the observed pixels exactly
            np.testing.assert_array_equal(d[~mask], ink[~mask])
            assert np.all((d >= 0) & (d <= 1))
        # The spread map is the draws' per-pixel std: 0 where observed.
        np.testing.assert_allclose(spread, draws.std(0), atol=1e-5)
        assert not spread[~mask].any() and spread[mask].max() > 0
    assert f"Largest spread here: <b>{spread2.max():.2f}</b>" in panel.spread_tile.toolTip()
    assert np.abs(draws1 - draws2).max() > 1e-3, "a second press gave the same draws"
    assert panel.draws_strip.isVisible() and panel.spread_tile.isVisible()


def test_live_reimputation_keeps_the_seed_a_press_changes_it(qtbot, state, panel):
    masked_digit(state, panel, "pseudo_gibbs")
    press_impute(qtbot, panel)
    seed = panel.seed()
    draws = panel.imputation_draws()
    # The same drawing imputed live again (a settings round trip): the same draws.
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        panel.live_check.setChecked(True)
    assert panel.seed() == seed
    np.testing.assert_array_equal(panel.imputation_draws(), draws)
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        qtbot.keyClick(panel.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert panel.seed() == seed + 1
    assert np.abs(panel.imputation_draws() - draws).max() > 1e-3


def test_steps_are_named_in_plain_words_per_method(qtbot, state, panel):
    masked_digit(state, panel, "importance")
    assert panel.steps_spin.prefix() == "rounds "
    assert "importance sampling" in panel.steps_spin.toolTip()
    assert "500 codes" in panel.steps_spin.toolTip()
    with qtbot.waitSignal(panel.imputed, timeout=10000):
        panel.impute_again()
    assert "2 rounds" in panel.message_label.text() and "steps" not in panel.message_label.text()
    for method in ("pseudo_gibbs", "mwg"):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
        assert panel.steps_spin.prefix() == "steps "
        assert panel.steps_spin.toolTip().startswith("Chain steps: how many times")


def test_the_canvas_names_the_datasets_images(state, panel):
    state.set_dataset("synthetic", digits())
    assert "Test digit" in panel.digit_heading.text()
    assert panel.random_action.text() == "Random digit"
    fashion = dataclasses.replace(digits(), classes=["T-shirt/top", "Trouser"] + [f"c{i}" for i in range(8)])
    state.set_dataset("fashion-mnist", fashion)
    assert "Test image" in panel.digit_heading.text()
    assert "digit" not in panel.random_action.toolTip() and "digit" not in panel.index_spin.toolTip()
    panel.load_test_digit(1)
    assert panel.message_label.text().startswith("Test image #1 (label Trouser)")


def test_undo_shortcuts_work_after_a_toolbar_button_is_clicked(qtbot, state):
    """In the window the panel sits in the dock's scroll area: a click on a tool button
    used to give focus to that scroll area, outside the shortcuts' reach."""
    from vae_explorer.gui.canvas import CanvasPanel

    panel = CanvasPanel(state)
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    qtbot.addWidget(scroll)
    scroll.resize(420, 700)
    scroll.show()
    qtbot.waitExposed(scroll)
    scroll.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is scroll, timeout=3000)
    stroke(qtbot, panel, [(5, 5), (5, 12)])
    painted = panel.canvas.ink_array()
    assert painted.any()
    for action in (panel.tool_actions["mask"], panel.grid_action, panel.tool_actions["ink"]):
        button = next(b for b in panel.findChildren(QToolButton) if b.defaultAction() is action)
        qtbot.mouseClick(button, LEFT)
        focus = QApplication.focusWidget()
        assert focus is not None and (focus is panel or panel.isAncestorOf(focus)), focus
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not panel.canvas.ink_array().any()
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, redo)
    np.testing.assert_array_equal(panel.canvas.ink_array(), painted)
    panel.shutdown()


def test_the_state_gets_the_drawing_with_its_posterior(qtbot, state, panel):
    ink = masked_digit(state, panel, "single")
    mask = expected_preset("middle_rows")
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=3000)
    np.testing.assert_array_equal(state.canvas_image, np.where(mask, 0.0, ink).reshape(-1))
    panel.canvas.clear()
    qtbot.waitUntil(lambda: state.canvas_posterior is None, timeout=3000)
    assert state.canvas_image is None


def test_the_strips_placeholder_is_one_box_not_text_cut_by_the_cells(qtbot):
    from vae_explorer.gui.canvas.tiles import ImageStrip

    strip = ImageStrip("6 draws", 6)
    qtbot.addWidget(strip)
    strip.resize(300, 80)
    strip.show()
    qtbot.waitExposed(strip)
    gap = strip.cell_rect(2).right() + 2, strip.cell_rect(2).center().y()  # between two cells

    def colour_at(point) -> tuple[int, int, int]:
        c = strip.grab().toImage().pixelColor(int(point[0]), int(point[1]))
        return c.red(), c.green(), c.blue()

    strip.set_images(None, placeholder="nothing masked")
    assert colour_at(gap) == (0, 0, 0)  # inside the one box
    strip.set_images(np.zeros((6, 28, 28), np.float32))
    assert colour_at(gap) != (0, 0, 0)  # the window's background between the draws


def test_a_placeholder_is_drawn_whole_or_smaller_or_not_at_all():
    """A 28-px tile at 1024 x 700 cut "nothing masked" to "othin / aske"."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFont, QImage, QPainter

    from vae_explorer.gui.canvas.tiles import draw_fitted_text

    def draw(side: int) -> tuple[bool, int]:
        image = QImage(side, side, QImage.Format.Format_ARGB32)
        image.fill(0)
        p = QPainter(image)
        p.setPen(Qt.GlobalColor.white)
        font = QFont()
        font.setPointSizeF(10)
        drawn = draw_fitted_text(p, QRectF(0, 0, side, side), "nothing masked", font)
        p.end()
        ink = np.frombuffer(image.constBits(), np.uint8).reshape(side, side, 4)[..., 3]
        return drawn, int((ink > 0).sum())

    assert draw(28) == (False, 0)  # no room even at the smallest size: no fragments
    drawn, ink = draw(120)
    assert drawn and ink > 0
    assert draw(56)[0]  # smaller, but whole

"""The painting canvas, driven with real mouse and key events: tools, brush, undo, digits, masks."""

from __future__ import annotations

import numpy as np
import pytest
from canvas_helpers import LEFT, RIGHT, at, digits, expected_preset, painted, set_size, stroke
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest


# --- painting -----------------------------------------------------------------------------
def test_canvas_is_large_with_crisp_integer_pixels(panel):
    assert panel.canvas.cell_size() == 14
    assert panel.canvas.canvas_rect().width() == 28 * panel.canvas.cell_size()


def test_single_click_with_unit_brush_inks_exactly_that_pixel(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(12, 7)])
    assert painted(panel) == [[12, 7]]
    assert panel.canvas.ink_array()[12, 7] == 1.0
    assert not panel.canvas.mask_array().any()


def test_ink_stroke_paints_the_line_between_mouse_positions(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(5, 3), (5, 6), (5, 10)])
    assert painted(panel) == [[5, c] for c in range(3, 11)]


def test_soft_brush_profile_of_size_three(qtbot, panel):
    set_size(panel, 3)
    stroke(qtbot, panel, [(14, 14)])
    ink = panel.canvas.ink_array()
    c = 2 - np.sqrt(2)
    np.testing.assert_allclose(ink[13:16, 13:16], [[c, 1, c], [1, 1, 1], [c, 1, c]], atol=1e-6)
    assert np.count_nonzero(ink) == 9


def test_mask_stroke_marks_missing_pixels_and_keeps_ink(qtbot, panel):
    panel.canvas.set_ink(np.full((28, 28), 0.5, np.float32))
    set_size(panel, 1)
    panel.tool_actions["mask"].trigger()
    assert panel.canvas.tool() == "mask"
    stroke(qtbot, panel, [(2, 20), (8, 20)])
    assert np.argwhere(panel.canvas.mask_array()).tolist() == [[r, 20] for r in range(2, 9)]
    assert np.all(panel.canvas.ink_array() == 0.5)
    # Right-drag un-marks.
    stroke(qtbot, panel, [(4, 20), (5, 20)], button=RIGHT)
    assert np.argwhere(panel.canvas.mask_array()).tolist() == [[r, 20] for r in (2, 3, 6, 7, 8)]


def test_eraser_removes_ink_under_the_brush_only(qtbot, panel):
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    set_size(panel, 1)
    panel.tool_actions["eraser"].trigger()
    stroke(qtbot, panel, [(10, 10), (10, 12)])
    ink = panel.canvas.ink_array()
    assert np.argwhere(ink < 1).tolist() == [[10, 10], [10, 11], [10, 12]]
    assert np.all(ink[10, 10:13] == 0)


def test_tool_shortcuts_switch_tools(qtbot, panel):
    panel.canvas.setFocus()
    for key, tool in ((Qt.Key.Key_M, "mask"), (Qt.Key.Key_E, "eraser"), (Qt.Key.Key_B, "ink")):
        qtbot.keyClick(panel.canvas, key)
        assert panel.canvas.tool() == tool
        assert panel.tool_actions[tool].isChecked()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_BracketRight)
    assert panel.canvas.brush_size() == 4 and panel.size_spin.value() == 4
    qtbot.keyClick(panel.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(panel.canvas, Qt.Key.Key_BracketLeft)
    assert panel.canvas.brush_size() == 2 and panel.size_spin.value() == 2


def test_grid_shortcut_toggles_the_pixel_grid(qtbot, panel):
    panel.canvas.setFocus()
    assert panel.canvas.grid_visible()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_G)
    assert not panel.canvas.grid_visible() and not panel.grid_action.isChecked()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_G)
    assert panel.canvas.grid_visible()


def test_strokes_outside_the_canvas_are_clipped(qtbot, panel):
    set_size(panel, 1)
    canvas = panel.canvas
    y = at(panel, 3, 0).y()
    # From 200 screen pixels left of the canvas into pixel (3, 2).
    qtbot.mousePress(canvas, LEFT, pos=QPoint(int(canvas.canvas_rect().left()) - 200, y))
    QTest.mouseMove(canvas, at(panel, 3, 2))
    qtbot.mouseRelease(canvas, LEFT, pos=at(panel, 3, 2))
    assert painted(panel) == [[3, 0], [3, 1], [3, 2]]

    # Far outside, across the whole canvas along its diagonal, and out again.
    panel.clear_action.trigger()
    far = 5000 * 14
    qtbot.mousePress(canvas, LEFT, pos=QPoint(-far, -far))
    QTest.mouseMove(canvas, QPoint(far, far))
    qtbot.mouseRelease(canvas, LEFT, pos=QPoint(far, far))
    ink = panel.canvas.ink_array()
    assert np.isfinite(ink).all()
    assert np.all(np.diag(ink) == 1.0)
    rows, cols = np.indices(ink.shape)
    assert not ink[np.abs(rows - cols) >= 2].any()

    # A stroke entirely outside changes nothing and adds no undo step.
    before, steps = panel.canvas.ink_array(), panel.canvas.undo_stack.count()
    qtbot.mousePress(canvas, LEFT, pos=QPoint(-300, -300))
    QTest.mouseMove(canvas, QPoint(-100, -400))
    QTest.mouseMove(canvas, QPoint(canvas.width() + 50, -10))
    qtbot.mouseRelease(canvas, LEFT, pos=QPoint(canvas.width() + 50, -10))
    assert np.array_equal(panel.canvas.ink_array(), before)
    assert panel.canvas.undo_stack.count() == steps


# --- undo / redo / clear ------------------------------------------------------------------
def test_each_stroke_is_one_undo_step(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(2, 2), (2, 5), (2, 8), (2, 11)])
    first = panel.canvas.ink_array()
    stroke(qtbot, panel, [(20, 2), (20, 9)])
    both = panel.canvas.ink_array()
    assert panel.canvas.undo_stack.count() == 2
    assert panel.undo_action.isEnabled() and not panel.redo_action.isEnabled()
    assert "Ink stroke" in panel.undo_action.toolTip()

    panel.undo_action.trigger()
    assert np.array_equal(panel.canvas.ink_array(), first)
    panel.undo_action.trigger()
    assert not panel.canvas.ink_array().any()
    assert not panel.undo_action.isEnabled()
    panel.redo_action.trigger()
    assert np.array_equal(panel.canvas.ink_array(), first)
    panel.redo_action.trigger()
    assert np.array_equal(panel.canvas.ink_array(), both)


def test_undo_redo_keyboard_shortcuts(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(9, 9)])
    panel.canvas.setFocus()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not panel.canvas.ink_array().any()
    qtbot.keyClick(
        panel.canvas,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert painted(panel) == [[9, 9]]
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Delete)
    assert not panel.canvas.ink_array().any()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert painted(panel) == [[9, 9]]


def test_ctrl_z_in_mid_stroke_leaves_nothing_to_undo_twice(qtbot, panel):
    """Ctrl+Z while the button was still down undid the step before; the release then
    recorded the stroke from before that undo, so undoing it brought the undone step back."""
    set_size(panel, 1)
    stroke(qtbot, panel, [(2, 2)])  # the step Ctrl+Z undoes
    canvas = panel.canvas
    canvas.setFocus()
    qtbot.mousePress(canvas, LEFT, pos=at(panel, 20, 2))
    QTest.mouseMove(canvas, at(panel, 20, 6))
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.ink_array().any()  # back to before the first stroke
    QTest.mouseMove(canvas, at(panel, 20, 9))  # the stroke ended with the undo: no ink here
    qtbot.mouseRelease(canvas, LEFT, pos=at(panel, 20, 9))
    assert not canvas.ink_array().any() and canvas.undo_stack.index() == 0
    panel.redo_action.trigger()  # the first stroke is still there to redo
    assert painted(panel) == [[2, 2]]


def test_clear_removes_ink_and_mask_and_is_undoable(qtbot, panel):
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    panel.apply_preset_mask("left_half")
    panel.clear_action.trigger()
    assert not panel.canvas.ink_array().any() and not panel.canvas.mask_array().any()
    panel.undo_action.trigger()
    assert panel.canvas.ink_array().all() and panel.canvas.mask_array()[:, :14].all()


# --- test digits and preset masks ---------------------------------------------------------
def test_load_test_digit_by_index_and_at_random(qtbot, state, panel):
    test = digits()
    assert not panel.load_button.isEnabled() and not panel.random_action.isEnabled()
    state.set_dataset("synthetic", test)
    assert panel.load_button.isEnabled() and panel.index_spin.maximum() == 4
    panel.index_spin.setValue(3)
    qtbot.mouseClick(panel.load_button, LEFT)
    np.testing.assert_array_equal(panel.canvas.ink_array(), test.images[3] / np.float32(255))
    assert "#3" in panel.message_label.text() and "label 3" in panel.message_label.text()
    np.testing.assert_array_equal(panel.original_tile.image(), panel.canvas.ink_array())

    qtbot.mouseClick(panel.random_button, LEFT)
    shown = panel.canvas.ink_array()
    assert any(np.array_equal(shown, im / np.float32(255)) for im in test.images)
    assert np.array_equal(shown, test.images[panel.index_spin.value()] / np.float32(255))


def test_r_loads_a_random_digit_from_the_states_current_test_set(qtbot, state, panel):
    state.set_dataset("synthetic", digits())
    other = digits()
    other.images[:] = 0
    other.images[:, 10, 10] = 255
    state.set_dataset("other", other)  # a new dataset: the panel reads it, keeps no copy
    panel.canvas.setFocus()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_R)
    assert painted(panel) == [[10, 10]]


@pytest.mark.parametrize("name", ["middle_rows", "left_half", "bottom_half", "centre_square"])
def test_preset_mask_buttons(qtbot, panel, name):
    panel.canvas.set_ink(np.full((28, 28), 0.25, np.float32))
    qtbot.mouseClick(panel.preset_buttons[name], LEFT)
    np.testing.assert_array_equal(panel.canvas.mask_array(), expected_preset(name))
    assert np.all(panel.canvas.ink_array() == 0.25)
    assert panel.preset_buttons[name].toolTip()


def test_preset_buttons_carry_cores_labels_and_descriptions(panel):
    from vae_explorer.core.masks import MASK_DESCRIPTIONS, MASK_LABELS, MASK_NAMES

    assert list(panel.preset_buttons) == list(MASK_NAMES)
    for name, button in panel.preset_buttons.items():
        assert button.text() == MASK_LABELS[name]
        assert MASK_DESCRIPTIONS[name] in button.toolTip()
        assert not button.icon().isNull()


def test_random_preset_hides_half_the_pixels_differently_each_time(qtbot, panel):
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    first = panel.canvas.mask_array()
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    second = panel.canvas.mask_array()
    assert first.sum() == 392 and second.sum() == 392
    assert not np.array_equal(first, second)
    panel.undo_action.trigger()
    np.testing.assert_array_equal(panel.canvas.mask_array(), first)
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    assert not panel.canvas.mask_array().any()


def test_every_tool_has_a_tooltip_naming_its_shortcut(panel):
    shortcuts = {
        "ink": "B", "mask": "M", "eraser": "E",
    }  # fmt: skip
    for tool, key in shortcuts.items():
        assert f"({key})" in panel.tool_actions[tool].toolTip()
    assert "Ctrl+Z" in panel.undo_action.toolTip()
    assert "Ctrl+Shift+Z" in panel.redo_action.toolTip()
    assert "Del" in panel.clear_action.toolTip() and "G" in panel.grid_action.toolTip()
    assert "[" in panel.size_spin.toolTip() and "Ctrl+Return" in panel.impute_button.toolTip()
    assert "(R)" in panel.random_button.toolTip()
    for button in panel.preset_buttons.values():
        assert button.toolTip()
    for widget in (panel.method_combo, panel.steps_spin, panel.live_check, panel.random_button):
        assert widget.toolTip()


def checked_masks(panel) -> list[str]:
    named = [n for n, b in panel.preset_buttons.items() if b.isChecked()]
    return named + (["none"] if panel.clear_mask_button.isChecked() else [])


def test_the_mask_buttons_show_which_mask_is_on_the_canvas(qtbot, panel):
    assert checked_masks(panel) == ["none"]
    qtbot.mouseClick(panel.preset_buttons["left_half"], LEFT)
    assert checked_masks(panel) == ["left_half"]
    qtbot.mouseClick(panel.preset_buttons["left_half"], LEFT)  # again: it stays the one
    assert checked_masks(panel) == ["left_half"]
    panel.canvas.set_tool("mask")
    stroke(qtbot, panel, [(5, 20), (6, 20)])  # painted over: no preset any more
    assert checked_masks(panel) == []
    panel.undo_action.trigger()
    assert checked_masks(panel) == ["left_half"]
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    assert checked_masks(panel) == ["random"]
    panel.undo_action.trigger()  # the first random mask is a random mask too
    assert checked_masks(panel) == ["random"]
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    assert checked_masks(panel) == ["none"]
    qtbot.mouseClick(panel.clear_mask_button, LEFT)  # a click on the checked one keeps it
    assert checked_masks(panel) == ["none"]


def test_the_controls_stay_put_whatever_the_message(qtbot, panel):
    """The message under the controls grew and shrank with its text (1 to 3 lines' room),
    moving every control above it: a click aimed at Method or a mask preset hit another."""
    from PySide6.QtWidgets import QApplication

    panel.resize(370, 560)

    def places():
        QApplication.processEvents()
        panel.layout().activate()  # (a pending re-layout is not a move)
        widgets = (panel.canvas, panel.method_combo, panel.preset_buttons["left_half"])
        return [w.mapTo(panel, w.rect().topLeft()).toTuple() + w.size().toTuple() for w in widgets]

    panel._set_message("Short.")
    first = places()
    long = "Importance-weighted, 2 rounds: 49 ms · 0 of 784 pixels missing. " * 3
    panel._set_message(long)
    assert places() == first
    assert panel.message_label.toolTip() == long  # (cut at two lines: the tooltip has it all)

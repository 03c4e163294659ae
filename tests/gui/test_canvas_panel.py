"""The painting canvas and imputation panel, driven with real mouse and key events."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from vae_explorer.core.latent import encode_images
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.canvas_panel import CanvasPanel
from vae_explorer.gui.impute_runner import ImputeRequest, ImputeRunner, available_methods

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


def make_model(latent_dim: int = 2) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32)).eval()


def digits() -> tuple[np.ndarray, np.ndarray]:
    """Five synthetic 'test digits': distinct, easy-to-recognise uint8 images."""
    images = np.zeros((5, 28, 28), np.uint8)
    for i in range(5):
        images[i, 4 + i : 24 - i, 8 + 2 * i] = 255
        images[i, 5, 4:20] = 40 * (i + 1)
    return images, np.arange(5, dtype=np.uint8)


@pytest.fixture
def panel(qtbot):
    w = CanvasPanel()
    qtbot.addWidget(w)
    w.resize(520, 900)
    # An even number of screen pixels per canvas pixel puts pixel centres on integer
    # mouse positions, so the expected footprints below are exact.
    w.canvas.setFixedSize(28 * 14, 28 * 14)
    w.show()
    qtbot.waitExposed(w)
    w.live_check.setChecked(False)
    yield w
    w.shutdown()


def at(panel: CanvasPanel, row: float, col: float) -> QPoint:
    return panel.canvas.pixel_center(row, col).toPoint()


def stroke(qtbot, panel: CanvasPanel, points: list[tuple[float, float]], button=LEFT) -> None:
    """Press at the first (row, col), move through the others, release at the last."""
    canvas = panel.canvas
    qtbot.mousePress(canvas, button, pos=at(panel, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(canvas, at(panel, *p))
    qtbot.mouseRelease(canvas, button, pos=at(panel, *points[-1]))


def set_size(panel: CanvasPanel, size: int) -> None:
    panel.size_spin.setValue(size)
    assert panel.canvas.brush_size() == size


def painted(panel: CanvasPanel) -> list[list[int]]:
    return np.argwhere(panel.canvas.ink() > 0).tolist()


# --- painting -----------------------------------------------------------------------------
def test_canvas_is_large_with_crisp_integer_pixels(panel):
    assert panel.canvas.cell_size() == 14
    assert panel.canvas.canvas_rect().width() == 28 * panel.canvas.cell_size()


def test_single_click_with_unit_brush_inks_exactly_that_pixel(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(12, 7)])
    assert painted(panel) == [[12, 7]]
    assert panel.canvas.ink()[12, 7] == 1.0
    assert not panel.canvas.mask().any()


def test_ink_stroke_paints_the_line_between_mouse_positions(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(5, 3), (5, 6), (5, 10)])
    assert painted(panel) == [[5, c] for c in range(3, 11)]


def test_soft_brush_profile_of_size_three(qtbot, panel):
    set_size(panel, 3)
    stroke(qtbot, panel, [(14, 14)])
    ink = panel.canvas.ink()
    c = 2 - np.sqrt(2)
    np.testing.assert_allclose(ink[13:16, 13:16], [[c, 1, c], [1, 1, 1], [c, 1, c]], atol=1e-6)
    assert np.count_nonzero(ink) == 9


def test_mask_stroke_marks_missing_pixels_and_keeps_ink(qtbot, panel):
    panel.canvas.set_ink(np.full((28, 28), 0.5, np.float32))
    set_size(panel, 1)
    panel.tool_actions["mask"].trigger()
    assert panel.canvas.tool() == "mask"
    stroke(qtbot, panel, [(2, 20), (8, 20)])
    assert np.argwhere(panel.canvas.mask()).tolist() == [[r, 20] for r in range(2, 9)]
    assert np.all(panel.canvas.ink() == 0.5)
    # Right-drag un-marks.
    stroke(qtbot, panel, [(4, 20), (5, 20)], button=RIGHT)
    assert np.argwhere(panel.canvas.mask()).tolist() == [[r, 20] for r in (2, 3, 6, 7, 8)]


def test_eraser_removes_ink_under_the_brush_only(qtbot, panel):
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    set_size(panel, 1)
    panel.tool_actions["eraser"].trigger()
    stroke(qtbot, panel, [(10, 10), (10, 12)])
    ink = panel.canvas.ink()
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
    ink = panel.canvas.ink()
    assert np.isfinite(ink).all()
    assert np.all(np.diag(ink) == 1.0)
    rows, cols = np.indices(ink.shape)
    assert not ink[np.abs(rows - cols) >= 2].any()

    # A stroke entirely outside changes nothing and adds no undo step.
    before, steps = panel.canvas.ink(), panel.canvas.undo_stack.count()
    qtbot.mousePress(canvas, LEFT, pos=QPoint(-300, -300))
    QTest.mouseMove(canvas, QPoint(-100, -400))
    QTest.mouseMove(canvas, QPoint(canvas.width() + 50, -10))
    qtbot.mouseRelease(canvas, LEFT, pos=QPoint(canvas.width() + 50, -10))
    assert np.array_equal(panel.canvas.ink(), before)
    assert panel.canvas.undo_stack.count() == steps


# --- undo / redo / clear ------------------------------------------------------------------
def test_each_stroke_is_one_undo_step(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(2, 2), (2, 5), (2, 8), (2, 11)])
    first = panel.canvas.ink()
    stroke(qtbot, panel, [(20, 2), (20, 9)])
    both = panel.canvas.ink()
    assert panel.canvas.undo_stack.count() == 2
    assert panel.undo_action.isEnabled() and not panel.redo_action.isEnabled()

    panel.undo_action.trigger()
    assert np.array_equal(panel.canvas.ink(), first)
    panel.undo_action.trigger()
    assert not panel.canvas.ink().any()
    assert not panel.undo_action.isEnabled()
    panel.redo_action.trigger()
    assert np.array_equal(panel.canvas.ink(), first)
    panel.redo_action.trigger()
    assert np.array_equal(panel.canvas.ink(), both)


def test_undo_redo_keyboard_shortcuts(qtbot, panel):
    set_size(panel, 1)
    stroke(qtbot, panel, [(9, 9)])
    panel.canvas.setFocus()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not panel.canvas.ink().any()
    qtbot.keyClick(
        panel.canvas,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert painted(panel) == [[9, 9]]


def test_clear_removes_ink_and_mask_and_is_undoable(qtbot, panel):
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    panel.apply_preset_mask("left_half")
    panel.clear_action.trigger()
    assert not panel.canvas.ink().any() and not panel.canvas.mask().any()
    panel.undo_action.trigger()
    assert panel.canvas.ink().all() and panel.canvas.mask()[:, :14].all()


# --- test digits and preset masks ---------------------------------------------------------
def test_load_test_digit_by_index_and_at_random(qtbot, panel):
    images, labels = digits()
    assert not panel.load_button.isEnabled()
    panel.set_test_images(images, labels)
    assert panel.load_button.isEnabled() and panel.index_spin.maximum() == 4
    panel.index_spin.setValue(3)
    qtbot.mouseClick(panel.load_button, LEFT)
    np.testing.assert_array_equal(panel.canvas.ink(), images[3] / np.float32(255))
    assert "#3" in panel.message_label.text() and "label 3" in panel.message_label.text()
    np.testing.assert_array_equal(panel.original_tile.image(), panel.canvas.ink())

    qtbot.mouseClick(panel.random_button, LEFT)
    shown = panel.canvas.ink()
    assert any(np.array_equal(shown, im / np.float32(255)) for im in images)
    assert np.array_equal(shown, images[panel.index_spin.value()] / np.float32(255))


def expected_preset(name: str) -> np.ndarray:
    m = np.zeros((28, 28), bool)
    if name == "middle_rows":
        m[9:19] = True
    elif name == "left_half":
        m[:, :14] = True
    elif name == "bottom_half":
        m[14:] = True
    elif name == "centre_square":
        m[7:21, 7:21] = True
    return m


@pytest.mark.parametrize("name", ["middle_rows", "left_half", "bottom_half", "centre_square"])
def test_preset_mask_buttons(qtbot, panel, name):
    panel.canvas.set_ink(np.full((28, 28), 0.25, np.float32))
    qtbot.mouseClick(panel.preset_buttons[name], LEFT)
    np.testing.assert_array_equal(panel.canvas.mask(), expected_preset(name))
    assert np.all(panel.canvas.ink() == 0.25)
    assert panel.preset_buttons[name].toolTip()


def test_random_preset_hides_half_the_pixels_differently_each_time(qtbot, panel):
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    first = panel.canvas.mask()
    qtbot.mouseClick(panel.preset_buttons["random"], LEFT)
    second = panel.canvas.mask()
    assert first.sum() == 392 and second.sum() == 392
    assert not np.array_equal(first, second)
    panel.undo_action.trigger()
    np.testing.assert_array_equal(panel.canvas.mask(), first)
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    assert not panel.canvas.mask().any()


# --- encoding -----------------------------------------------------------------------------
@pytest.mark.parametrize("latent_dim", [1, 2, 10])
def test_encoded_signal_has_the_models_shapes_and_values(qtbot, panel, latent_dim):
    model = make_model(latent_dim)
    with qtbot.waitSignal(panel.encoded, timeout=2000) as blocker:
        panel.set_model(model)
    mu, logvar = blocker.args
    assert mu.shape == (latent_dim,) and logvar.shape == (latent_dim,)
    assert mu.dtype == np.float32 and logvar.dtype == np.float32

    set_size(panel, 2)
    with qtbot.waitSignal(panel.encoded, timeout=2000) as blocker:
        stroke(qtbot, panel, [(6, 6), (20, 20)])
    mu, logvar = blocker.args
    want_mu, want_logvar = encode_images(model, panel.canvas.ink().reshape(1, 784))
    np.testing.assert_allclose(mu, want_mu[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar, want_logvar[0], rtol=1e-5, atol=1e-6)


def test_encoding_sees_missing_pixels_as_zero(qtbot, panel):
    model = make_model(2)
    panel.set_model(model)
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    with qtbot.waitSignal(panel.encoded, timeout=2000) as blocker:
        panel.apply_preset_mask("bottom_half")
    x = np.ones((28, 28), np.float32)
    x[14:] = 0
    want_mu, _ = encode_images(model, x.reshape(1, 784))
    np.testing.assert_allclose(blocker.args[0], want_mu[0], rtol=1e-5, atol=1e-6)


def test_encoded_is_throttled_while_painting(qtbot, panel):
    panel.set_model(make_model(2))
    qtbot.waitSignal(panel.encoded, timeout=2000).wait()
    emitted = []
    panel.encoded.connect(lambda mu, lv: emitted.append(mu))
    canvas = panel.canvas
    qtbot.mousePress(canvas, LEFT, pos=at(panel, 2, 2))
    for i in range(40):
        QTest.mouseMove(canvas, at(panel, 2 + i % 20, 2 + i // 2))
    qtbot.mouseRelease(canvas, LEFT, pos=at(panel, 20, 20))
    qtbot.waitUntil(lambda: len(emitted) >= 1, timeout=2000)
    qtbot.wait(100)
    assert 1 <= len(emitted) <= 3  # 40 edits, no event processing between them


def test_no_model_means_no_encoding_and_no_imputation(qtbot, panel):
    emitted = []
    panel.encoded.connect(lambda mu, lv: emitted.append(mu))
    stroke(qtbot, panel, [(5, 5), (9, 9)])
    qtbot.wait(80)
    assert emitted == []
    assert not panel.impute_button.isEnabled()
    panel.set_model(make_model(2))
    assert panel.impute_button.isEnabled()
    panel.set_model(None)
    assert not panel.impute_button.isEnabled()


# --- imputation ---------------------------------------------------------------------------
def setup_masked_digit(panel: CanvasPanel, model: VAE) -> np.ndarray:
    images, labels = digits()
    panel.set_test_images(images, labels)
    panel.set_model(model)
    panel.load_test_digit(1)
    panel.apply_preset_mask("middle_rows")
    return panel.canvas.ink()


@pytest.mark.parametrize("method", available_methods())
def test_impute_keeps_observed_pixels_and_fills_missing_ones(qtbot, panel, method):
    model = make_model(2)
    ink = setup_masked_digit(panel, model)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
    if method != "single":
        panel.steps_spin.setValue(2)
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        qtbot.mouseClick(panel.impute_button, LEFT)
    out = blocker.args[0]
    mask = expected_preset("middle_rows")
    assert out.shape == (28, 28) and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], ink[~mask])
    filled = out[mask]
    assert np.all((filled >= 0) & (filled <= 1))
    assert np.abs(filled - ink[mask]).max() > 0.05  # the model filled them in
    np.testing.assert_array_equal(panel.imputed_image(), out)
    np.testing.assert_array_equal(panel.masked_tile.image(), ink)
    assert panel.imputed_tile.title() == "Imputed"
    assert "ms" in panel.message_label.text()


def test_single_pass_matches_decoding_the_zero_filled_encoding(qtbot, panel):
    if "single" not in available_methods():
        pytest.skip("backend has no single-pass method")
    model = make_model(2)
    ink = setup_masked_digit(panel, model)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("single"))
    assert not panel.steps_spin.isEnabled()
    with qtbot.waitSignal(panel.imputed, timeout=5000) as blocker:
        panel.impute()
    mask = expected_preset("middle_rows")
    with torch.no_grad():
        x = torch.from_numpy(np.where(mask, 0, ink).reshape(1, 784))
        decoded = model.decode(model.encode(x)[0]).numpy().reshape(28, 28)
    np.testing.assert_allclose(blocker.args[0][mask], decoded[mask], atol=1e-5)


def test_empty_mask_returns_the_drawing_unchanged(qtbot, panel):
    images, labels = digits()
    panel.set_test_images(images, labels)
    panel.set_model(make_model(2))
    panel.load_test_digit(2)
    assert not panel.canvas.mask().any()
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        panel.impute()
    np.testing.assert_array_equal(blocker.args[0], panel.canvas.ink())


def test_all_missing_mask_gives_a_model_image(qtbot, panel):
    panel.set_model(make_model(10))
    panel.canvas.set_ink(np.ones((28, 28), np.float32))
    panel.canvas.set_mask(np.ones((28, 28), bool))
    with qtbot.waitSignal(panel.imputed, timeout=10000) as blocker:
        panel.impute()
    out = blocker.args[0]
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, 1.0)


def test_live_imputation_follows_painting(qtbot, panel):
    model = make_model(2)
    setup_masked_digit(panel, model)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("single"))
    results = []
    panel.imputed.connect(results.append)
    with qtbot.waitSignal(panel.imputed, timeout=5000):
        panel.live_check.setChecked(True)
    set_size(panel, 1)
    with qtbot.waitSignal(panel.imputed, timeout=5000) as blocker:
        stroke(qtbot, panel, [(2, 2), (2, 10)])
    assert np.all(blocker.args[0][2, 2:11] == 1.0)  # the new observed ink is in the result
    qtbot.waitUntil(lambda: panel.imputed_tile.title() == "Imputed", timeout=5000)
    # Turning live off: further strokes leave the imputation marked out of date.
    panel.live_check.setChecked(False)
    stroke(qtbot, panel, [(25, 2)])
    qtbot.wait(80)
    assert panel.imputed_tile.title() == "Imputed (out of date)"


def test_runner_is_never_backlogged(qtbot, monkeypatch):
    import vae_explorer.gui.impute_runner as runner_module

    calls = []
    real = runner_module.run_request

    def slow(request):
        calls.append(request.token)
        QTest.qSleep(30)
        return real(request)

    monkeypatch.setattr(runner_module, "run_request", slow)
    runner = ImputeRunner()
    results = []
    runner.finished.connect(results.append)
    model = make_model(2)
    image = np.zeros(784, np.float32)
    mask = np.zeros(784, bool)
    try:
        for token in range(1, 21):
            runner.submit(ImputeRequest(token, model, image, mask, available_methods()[0], 1))
        qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    finally:
        runner.shutdown()
    assert calls == [1, 20]  # the running job, then only the newest request
    assert [r.token for r in results] == [1, 20]


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
    for button in panel.preset_buttons.values():
        assert button.toolTip()
    for widget in (panel.method_combo, panel.steps_spin, panel.live_check, panel.random_button):
        assert widget.toolTip()


def test_latent_label_shows_the_encoding(qtbot, panel):
    with qtbot.waitSignal(panel.encoded, timeout=2000) as blocker:
        panel.set_model(make_model(2))
    mu = blocker.args[0]
    assert f"{mu[0]:.2f}" in panel.latent_label.text()
    panel.set_model(None)
    assert panel.latent_label.text() == ""

"""The painting canvas and imputation panel, docked by the main window.

Paint a digit (or load a test digit), mark pixels as missing with the mask brush or a
preset, and let the model fill them in. The panel encodes the drawing as it changes and
emits ``encoded(mu, logvar)`` (throttled) so the main window can mark where it lands in
latent space. Imputation runs on a worker thread with its own copy of the model.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import canvas_icons
from .impute_runner import (
    METHOD_LABELS,
    ImputeRequest,
    ImputeResult,
    ImputeRunner,
    available_methods,
    default_steps,
)
from .paint_canvas import SIDE, ImageTile, PaintCanvas

ENCODE_INTERVAL_MS = 30
IMPUTE_INTERVAL_MS = 30
PRESETS = (
    ("middle_rows", "Middle rows", "Rows 9-18 missing, as in the seed article's figure"),
    ("left_half", "Left half", "Columns 0-13 missing"),
    ("bottom_half", "Bottom half", "Rows 14-27 missing"),
    ("centre_square", "Centre square", "The central 14x14 square missing"),
    ("random", "Random 50%", "A new random half of the pixels missing at each click"),
)
TOOL_INFO = {
    "ink": ("Ink", "B", "Ink brush: paint strokes like MNIST's; right-drag erases"),
    "mask": ("Mask", "M", "Mask brush: mark pixels as missing; right-drag un-marks"),
    "eraser": ("Eraser", "E", "Eraser: remove ink"),
}


def _preset_mask(name: str, seed: int) -> np.ndarray | None:
    """A named mask from core.masks as bool [28, 28], or None if the module is missing."""
    try:
        from ..core import masks
    except Exception:  # noqa: BLE001 - presets are optional, painting still works
        return None
    mask = masks.make_mask(name, 1, fraction=0.5, seed=seed)[0]
    return np.asarray(mask, bool).reshape(SIDE, SIDE)


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


def _tip(text: str, shortcut: str) -> str:
    return f"{text} <b>({shortcut})</b>"


class CanvasPanel(QWidget):
    """Painting canvas with tools, test digits, preset masks and imputation."""

    encoded = Signal(object, object)  # (mu [latent_dim] float32, logvar [latent_dim] float32)
    imputed = Signal(object)  # float32 [28, 28]: the image shown under "Imputed"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: Any = None
        self._worker_model: Any = None
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._rng = np.random.default_rng()
        self._random_mask_seed = 0
        self._token = 0
        self._result: ImputeResult | None = None
        self._result_token = -1
        self._dirty = True
        self.last_encoding: tuple[np.ndarray, np.ndarray] | None = None

        self.canvas = PaintCanvas(self)
        self.runner = ImputeRunner(self)
        self.runner.finished.connect(self._on_imputation_finished)
        self.runner.busy_changed.connect(self._on_busy_changed)
        self._encode_timer = _single_shot(self, ENCODE_INTERVAL_MS, self._emit_encoding)
        self._impute_timer = _single_shot(self, IMPUTE_INTERVAL_MS, self.impute)

        self._make_actions()
        self._build_ui()
        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.tool_changed.connect(self._on_tool_changed)
        self.canvas.brush_size_changed.connect(self.size_spin.setValue)
        self.canvas.undo_stack.indexChanged.connect(self._on_undo_index_changed)
        self._on_undo_index_changed()
        self._on_method_changed()
        self._update_enabled()
        self._on_canvas_changed()

    # --- public interface -----------------------------------------------------------------
    def set_model(self, model: Any) -> None:
        """Use ``model`` (a VAE, or None) for encoding; the worker gets its own copy."""
        self._model = model
        self._worker_model = None if model is None else copy.deepcopy(model).eval()
        self._result = None
        self._result_token = -1
        self._update_enabled()
        self._update_tiles()
        if model is None:
            self.latent_label.setText("")
        else:
            self._encode_timer.start()
            if self.live_check.isChecked():
                self._impute_timer.start()

    def set_test_images(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Test digits (uint8 [N, 28, 28]) and their labels, for "Load a test digit"."""
        images = np.asarray(images)
        self._images = images.reshape(-1, SIDE, SIDE)
        self._labels = None if labels is None else np.asarray(labels)
        self.index_spin.setRange(0, max(0, len(self._images) - 1))
        self._update_enabled()

    def load_test_digit(self, index: int | None = None) -> int:
        """Put test digit ``index`` (random if None) on the canvas; returns its index."""
        if self._images is None or len(self._images) == 0:
            raise RuntimeError("no test images: call set_test_images first")
        if index is None:
            index = int(self._rng.integers(len(self._images)))
        index = int(np.clip(index, 0, len(self._images) - 1))
        self.index_spin.blockSignals(True)
        self.index_spin.setValue(index)
        self.index_spin.blockSignals(False)
        self.canvas.set_ink(self._images[index], text=f"Load test digit #{index}")
        label = "" if self._labels is None else f" (label {self._labels[index]})"
        self._set_message(f"Test digit #{index}{label} on the canvas.")
        return index

    def apply_preset_mask(self, name: str) -> None:
        """Replace the mask with a named preset ("middle_rows", "left_half", ...)."""
        if name == "random":
            self._random_mask_seed += 1
        mask = _preset_mask(name, self._random_mask_seed)
        if mask is None:
            self._set_message("Preset masks are unavailable (vae_explorer.core.masks missing).")
            return
        label = dict((n, t) for n, t, _ in PRESETS).get(name, name)
        self.canvas.set_mask(mask, text=f"Mask: {label}")

    def impute(self) -> None:
        """Impute the canvas now (on the worker thread); the result arrives via ``imputed``."""
        self._impute_timer.stop()
        method = self.method_combo.currentData()
        if self._worker_model is None or method is None:
            return
        self._token += 1
        self._dirty = False
        self.runner.submit(
            ImputeRequest(
                token=self._token,
                model=self._worker_model,
                image=self.canvas.ink().reshape(-1),
                mask=self.canvas.mask().reshape(-1),
                method=method,
                steps=self.steps_spin.value(),
            )
        )

    def imputed_image(self) -> np.ndarray | None:
        """The imputed image on show (float32 [28, 28]), or None."""
        return self.imputed_tile.image()

    def shutdown(self) -> None:
        """Stop the imputation thread (the main window calls this when it closes)."""
        self._encode_timer.stop()
        self._impute_timer.stop()
        self.runner.shutdown()

    # --- actions and layout ---------------------------------------------------------------
    def _action(
        self,
        text: str,
        shortcuts: list[str],
        tip: str,
        slot: Any,
        icon: QIcon | None = None,
        checkable: bool = False,
    ) -> QAction:
        act = QAction(text, self)
        if icon is not None:
            act.setIcon(icon)
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        act.setToolTip(_tip(tip, " / ".join(shortcuts)) if shortcuts else tip)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _make_actions(self) -> None:
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for tool, (text, key, tip) in TOOL_INFO.items():
            act = self._action(
                text,
                [key],
                tip,
                lambda _=False, t=tool: self.canvas.set_tool(t),
                canvas_icons.tool_icon(tool),
                checkable=True,
            )
            group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[self.canvas.tool()].setChecked(True)
        self.undo_action = self._action(
            "Undo",
            ["Ctrl+Z"],
            "Undo the last stroke or change",
            self.canvas.undo_stack.undo,
            canvas_icons.arrow_icon(False),
        )
        self.redo_action = self._action(
            "Redo",
            ["Ctrl+Shift+Z", "Ctrl+Y"],
            "Redo",
            self.canvas.undo_stack.redo,
            canvas_icons.arrow_icon(True),
        )
        self.clear_action = self._action(
            "Clear",
            ["Del"],
            "Clear the ink and the mask",
            self.canvas.clear,
            canvas_icons.clear_icon(),
        )
        self.grid_action = self._action(
            "Grid",
            ["G"],
            "Show the pixel grid",
            self._on_grid_changed,
            canvas_icons.grid_icon(),
            True,
        )
        self.grid_action.setChecked(self.canvas.grid_visible())
        self._action(
            "Smaller brush",
            ["["],
            "Smaller brush",
            lambda: self.canvas.set_brush_size(self.canvas.brush_size() - 1),
        )
        self._action(
            "Bigger brush",
            ["]"],
            "Bigger brush",
            lambda: self.canvas.set_brush_size(self.canvas.brush_size() + 1),
        )
        self.random_action = self._action(
            "Random digit", ["R"], "Load a random test digit", lambda: self.load_test_digit(None)
        )
        self.impute_action = self._action(
            "Impute", ["Ctrl+Return"], "Fill in the missing pixels with the model", self.impute
        )

    def _tool_button(self, action: QAction, text_beside: bool = True) -> QToolButton:
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setIconSize(QSize(22, 22))
        button.setAutoRaise(True)
        button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon
            if text_beside
            else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        return button

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        tools = QHBoxLayout()
        tools.setSpacing(2)
        for act in self.tool_actions.values():
            tools.addWidget(self._tool_button(act))
        tools.addSpacing(8)
        size_label = QLabel("Size")
        self.size_spin = QSpinBox(self)
        self.size_spin.setRange(1, 12)
        self.size_spin.setSuffix(" px")
        self.size_spin.setValue(self.canvas.brush_size())
        self.size_spin.setToolTip(_tip("Brush diameter in canvas pixels", "[ / ]"))
        size_label.setToolTip(self.size_spin.toolTip())
        self.size_spin.valueChanged.connect(self._on_brush_size_changed)
        tools.addWidget(size_label)
        tools.addWidget(self.size_spin)
        tools.addStretch(1)
        for act in (self.undo_action, self.redo_action, self.clear_action, self.grid_action):
            tools.addWidget(self._tool_button(act, text_beside=False))
        layout.addLayout(tools)
        layout.addWidget(self.canvas, 4)

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(4)
        form.setColumnStretch(1, 1)
        form.addWidget(_heading("Test digit"), 0, 0)
        form.addLayout(self._build_digit_row(), 0, 1)
        form.addWidget(_heading("Mask"), 1, 0)
        form.addLayout(self._build_preset_row(), 1, 1)
        form.addWidget(_heading("Impute"), 2, 0)
        form.addLayout(self._build_impute_row(), 2, 1)
        layout.addLayout(form)
        tiles = QHBoxLayout()
        tiles.setSpacing(6)
        for tile in (self.original_tile, self.masked_tile, self.imputed_tile):
            tiles.addWidget(tile)
        layout.addLayout(tiles, 1)
        self.latent_label = QLabel(self)
        self.latent_label.setToolTip(
            "Posterior mean and standard deviation of the drawing's encoding q(z|x), "
            "missing pixels as 0; the latent view marks it with its uncertainty ellipse"
        )
        layout.addWidget(self.latent_label)
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message_label)

    def _build_digit_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip(self.random_action.toolTip())
        self.random_button.clicked.connect(self.random_action.trigger)
        self.index_spin = QSpinBox(self)
        self.index_spin.setPrefix("#")
        self.index_spin.setRange(0, 0)
        self.index_spin.setToolTip("Index of the test digit to load")
        self.index_spin.setKeyboardTracking(False)
        self.load_button = QPushButton("Load #")
        self.load_button.setToolTip("Load the test digit with this index")
        self.load_button.clicked.connect(self._on_load_clicked)
        row.addWidget(self.random_button)
        row.addStretch(1)
        row.addWidget(self.index_spin)
        row.addWidget(self.load_button)
        return row

    def _build_preset_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(2)
        self.preset_buttons: dict[str, QToolButton] = {}
        for name, text, tip in PRESETS:
            mask = _preset_mask(name, 1)
            icon = canvas_icons.mask_icon(mask) if mask is not None else None
            button = self._small_button(text, f"<b>{text}</b>: {tip}", icon)
            button.clicked.connect(lambda _=False, n=name: self.apply_preset_mask(n))
            row.addWidget(button)
            self.preset_buttons[name] = button
        self.clear_mask_button = self._small_button(
            "No mask", "<b>No mask</b>: every pixel observed",
            canvas_icons.mask_icon(np.zeros((SIDE, SIDE), bool)),
        )
        self.clear_mask_button.clicked.connect(self.canvas.clear_mask)
        row.addWidget(self.clear_mask_button)
        row.addStretch(1)
        return row

    def _small_button(self, text: str, tip: str, icon: QIcon | None) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        if icon is not None:
            button.setIcon(icon)
        button.setIconSize(QSize(26, 26))
        button.setAutoRaise(True)
        button.setToolTip(tip)
        return button

    def _build_impute_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.method_combo = QComboBox(self)
        for method in available_methods():
            self.method_combo.addItem(METHOD_LABELS.get(method, method), method)
        importance = self.method_combo.findData("importance")
        if importance >= 0:
            self.method_combo.setCurrentIndex(importance)
        self.method_combo.setToolTip(
            "How the missing pixels are filled in:<br>"
            "<b>Single pass</b>: encode once, decode the posterior mean (the seed's way)<br>"
            "<b>Pseudo-Gibbs</b>: alternate z ~ q(z|x) and refilling the missing pixels<br>"
            "<b>Metropolis-within-Gibbs</b>: the same chain with an accept/reject step that "
            "targets the model's true conditional<br>"
            "<b>Importance-weighted</b>: weighted average over draws from q(z|x)"
        )
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(1, 2000)
        self.steps_spin.setPrefix("steps ")
        self.steps_spin.setToolTip("Chain length (Gibbs, Metropolis) or importance rounds")
        self.steps_spin.setKeyboardTracking(False)
        self.steps_spin.valueChanged.connect(self._on_steps_changed)
        self.impute_button = QPushButton("Impute")
        self.impute_button.setToolTip(self.impute_action.toolTip())
        self.impute_button.clicked.connect(self.impute)
        self.live_check = QCheckBox("Live")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Impute again as you paint (skips stale frames, never lags)")
        self.live_check.toggled.connect(self._on_live_changed)
        row.addWidget(self.method_combo, 1)
        row.addWidget(self.steps_spin)
        row.addWidget(self.impute_button)
        row.addWidget(self.live_check)
        self.original_tile = ImageTile("Original")
        self.original_tile.setToolTip("The canvas as painted, all pixels")
        self.masked_tile = ImageTile("Masked")
        self.masked_tile.setToolTip("What the model sees: missing pixels in pink")
        self.imputed_tile = ImageTile("Imputed")
        self.imputed_tile.setToolTip(
            "Observed pixels as painted, missing ones (outlined) filled in by the model"
        )
        return row

    # --- slots ----------------------------------------------------------------------------
    def _on_canvas_changed(self) -> None:
        self._dirty = True
        self._update_tiles()
        if self._model is not None and not self._encode_timer.isActive():
            self._encode_timer.start()
        if self.live_check.isChecked() and not self._impute_timer.isActive():
            self._impute_timer.start()

    def _on_tool_changed(self, tool: str) -> None:
        self.tool_actions[tool].setChecked(True)

    def _on_brush_size_changed(self, size: int) -> None:
        self.canvas.set_brush_size(size)

    def _on_grid_changed(self, checked: bool) -> None:
        self.canvas.set_grid_visible(checked)

    def _on_load_clicked(self) -> None:
        self.load_test_digit(self.index_spin.value())

    def _on_undo_index_changed(self) -> None:
        stack = self.canvas.undo_stack
        self.undo_action.setEnabled(stack.canUndo())
        self.redo_action.setEnabled(stack.canRedo())
        undo = f"Undo: {stack.undoText()}" if stack.canUndo() else "Undo"
        redo = f"Redo: {stack.redoText()}" if stack.canRedo() else "Redo"
        self.undo_action.setToolTip(_tip(undo, "Ctrl+Z"))
        self.redo_action.setToolTip(_tip(redo, "Ctrl+Shift+Z"))

    def _on_method_changed(self) -> None:
        method = self.method_combo.currentData()
        if method is None:
            return
        self.steps_spin.blockSignals(True)
        self.steps_spin.setValue(default_steps(method))
        self.steps_spin.blockSignals(False)
        self.steps_spin.setEnabled(method != "single" and self._model is not None)
        self._on_settings_changed()

    def _on_steps_changed(self) -> None:
        self._on_settings_changed()

    def _on_live_changed(self, checked: bool) -> None:
        self._on_settings_changed()

    def _on_settings_changed(self) -> None:
        self._dirty = True
        self._update_tiles()
        if self.live_check.isChecked() and self._model is not None:
            self._impute_timer.start()

    def _on_busy_changed(self, busy: bool) -> None:
        self.impute_button.setText("Imputing…" if busy else "Impute")

    def _on_imputation_finished(self, result: ImputeResult) -> None:
        if result.error is not None:
            self._set_message(f"Imputation failed: {result.error}")
            return
        self._result = result
        self._result_token = result.token
        self._update_tiles()
        label = METHOD_LABELS.get(result.method, result.method)
        steps = "" if result.method == "single" else f", {result.steps} steps"
        missing = int(self.canvas.mask().sum())
        self._set_message(
            f"{label}{steps}: {result.seconds * 1000:.0f} ms · {missing} of {SIDE * SIDE} "
            "pixels missing"
        )
        self.imputed.emit(result.image.copy())

    # --- helpers --------------------------------------------------------------------------
    def _emit_encoding(self) -> None:
        """Encode the visible drawing (missing pixels as 0) and emit ``encoded``."""
        if self._model is None:
            return
        from ..core.latent import encode_images

        x = np.where(self.canvas.mask(), 0.0, self.canvas.ink()).reshape(1, -1)
        mu, logvar = encode_images(self._model, x.astype(np.float32))
        self.last_encoding = (mu[0].copy(), logvar[0].copy())
        self.latent_label.setText(
            f"Encoded at z = {_vector(mu[0])}, σ = {_vector(np.exp(0.5 * logvar[0]))}"
        )
        self.encoded.emit(mu[0].copy(), logvar[0].copy())

    def _update_tiles(self) -> None:
        ink, mask = self.canvas.ink(), self.canvas.mask()
        self.original_tile.set_image(ink)
        self.masked_tile.set_image(ink, mask)
        if self._model is None:
            self.imputed_tile.set_image(None, placeholder="no model")
            self.imputed_tile.setEnabled(False)
            return
        self.imputed_tile.setEnabled(True)
        if self._result is None or self._result.image is None:
            text = "Impute to fill in" if mask.any() else "nothing masked"
            self.imputed_tile.set_image(None, placeholder=text)
        else:
            self.imputed_tile.set_image(self._result.image, outline=mask)
        if self._result is None or (not self._dirty and self._result_token == self._token):
            self.imputed_tile.set_title("Imputed")
        elif self.live_check.isChecked() or self.runner.is_busy():
            self.imputed_tile.set_title("Imputed (updating…)")
        else:
            self.imputed_tile.set_title("Imputed (out of date)")

    def _update_enabled(self) -> None:
        has_model = self._model is not None
        has_methods = self.method_combo.count() > 0
        for w in (self.impute_button, self.method_combo, self.live_check):
            w.setEnabled(has_model and has_methods)
        self.impute_action.setEnabled(has_model and has_methods)
        self.steps_spin.setEnabled(
            has_model and has_methods and self.method_combo.currentData() != "single"
        )
        has_images = self._images is not None and len(self._images) > 0
        for w in (self.random_button, self.index_spin, self.load_button):
            w.setEnabled(has_images)
        self.random_action.setEnabled(has_images)
        if not has_model:
            self._set_message("Load or train a model to encode and impute the drawing.")
        elif not has_methods:
            self._set_message("Imputation is unavailable: vae_explorer.core.imputation is missing.")
        elif self.message_label.text().startswith("Load or train"):
            self._set_message("Paint a digit or load a test digit, then mask pixels to impute.")

    def _set_message(self, text: str) -> None:
        self.message_label.setText(text)


def _vector(v: np.ndarray, shown: int = 3) -> str:
    """A short text form of a latent vector: (0.12, -1.30) or (0.12, -1.30, 0.40, …)."""
    parts = [f"{x:.2f}" for x in np.asarray(v).tolist()[:shown]]
    return "(" + ", ".join(parts) + (", …)" if len(v) > shown else ")")


def _single_shot(parent: QWidget, ms: int, slot: Any) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer

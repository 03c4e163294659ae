"""What the canvas panel looks like: its widgets, actions, shortcuts, icons and tooltips.

``CanvasControls`` builds the tool row, the canvas, the test-digit / mask / impute rows,
the Original / Masked / Imputed tiles and the message lines, and wires what only touches
the canvas itself (tools, brush size, undo, redo, clear, grid). ``CanvasPanel``
(:mod:`.panel`) adds what the panel does with the app state: loading digits, preset
masks, encoding and imputation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt
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

from ...core.imputation import METHOD_LABELS, METHODS
from ...core.masks import MASK_DESCRIPTIONS, MASK_LABELS, MASK_NAMES, preset_mask
from . import icons
from .paint_canvas import SIDE, PaintCanvas
from .tiles import ImageTile

TOOL_INFO = {
    "ink": ("Ink", "B", "Ink brush: paint strokes like MNIST's; right-drag erases"),
    "mask": ("Mask", "M", "Mask brush: mark pixels as missing; right-drag un-marks"),
    "eraser": ("Eraser", "E", "Eraser: remove ink"),
}
METHOD_TIP = (
    "How the missing pixels are filled in:<br>"
    "<b>Single pass</b>: encode once, decode the posterior mean (the seed's way)<br>"
    "<b>Pseudo-Gibbs</b>: alternate z ~ q(z|x) and refilling the missing pixels<br>"
    "<b>Metropolis-within-Gibbs</b>: the same chain with an accept/reject step that "
    "targets the model's true conditional<br>"
    "<b>Importance-weighted</b>: weighted average over draws from q(z|x)"
)
LATENT_TIP = (
    "Posterior mean and standard deviation of the drawing's encoding q(z|x), "
    "missing pixels as 0; the latent view marks it with its uncertainty ellipse"
)


def tip(text: str, shortcut: str) -> str:
    """A tooltip naming its shortcut in bold."""
    return f"{text} <b>({shortcut})</b>"


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


class CanvasControls(QWidget):
    """The canvas with its tools and controls, laid out; no app state, no model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = PaintCanvas(self)
        self._make_actions()
        self._build_ui()
        self.canvas.toolChanged.connect(self._on_canvas_tool_changed)
        self.canvas.brushSizeChanged.connect(self.size_spin.setValue)
        self.canvas.undo_stack.indexChanged.connect(self._on_undo_index_changed)
        self._on_undo_index_changed()

    # --- actions --------------------------------------------------------------------------
    def _action(
        self,
        text: str,
        shortcuts: list[str],
        tooltip: str,
        slot: Callable[..., object] | None = None,
        icon: QIcon | None = None,
        checkable: bool = False,
    ) -> QAction:
        act = QAction(text, self)
        if icon is not None:
            act.setIcon(icon)
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        act.setToolTip(tip(tooltip, " / ".join(shortcuts)) if shortcuts else tooltip)
        act.setCheckable(checkable)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _make_actions(self) -> None:
        canvas = self.canvas
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for tool, (text, key, tooltip) in TOOL_INFO.items():
            act = self._action(
                text,
                [key],
                tooltip,
                lambda _=False, t=tool: canvas.set_tool(t),
                icons.tool_icon(tool),
                checkable=True,
            )
            group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[canvas.tool()].setChecked(True)
        self.undo_action = self._action(
            "Undo",
            ["Ctrl+Z"],
            "Undo the last stroke or change",
            canvas.undo_stack.undo,
            icons.arrow_icon(False),
        )
        self.redo_action = self._action(
            "Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", canvas.undo_stack.redo, icons.arrow_icon(True)
        )
        self.clear_action = self._action(
            "Clear", ["Del"], "Clear the ink and the mask", canvas.clear, icons.clear_icon()
        )
        self.grid_action = self._action(
            "Grid", ["G"], "Show the pixel grid", canvas.set_grid_visible, icons.grid_icon(), True
        )
        self.grid_action.setChecked(canvas.grid_visible())
        self._action(
            "Smaller brush", ["["], "Smaller brush", lambda: canvas.set_brush_size(canvas.brush_size() - 1)
        )
        self._action(
            "Bigger brush", ["]"], "Bigger brush", lambda: canvas.set_brush_size(canvas.brush_size() + 1)
        )
        # Connected by the panel, which knows the test set and the model.
        self.random_action = self._action("Random digit", ["R"], "Load a random test digit")
        self.impute_action = self._action(
            "Impute", ["Ctrl+Return"], "Fill in the missing pixels with the model"
        )

    # --- layout ---------------------------------------------------------------------------
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
        self.size_spin.setToolTip(tip("Brush diameter in canvas pixels", "[ / ]"))
        size_label.setToolTip(self.size_spin.toolTip())
        self.size_spin.valueChanged.connect(self.canvas.set_brush_size)
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
        layout.addLayout(self._build_tiles(), 1)
        self.latent_label = QLabel(self)
        self.latent_label.setToolTip(LATENT_TIP)
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
        row.addWidget(self.random_button)
        row.addStretch(1)
        row.addWidget(self.index_spin)
        row.addWidget(self.load_button)
        return row

    def _build_preset_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(2)
        self.preset_buttons: dict[str, QToolButton] = {}
        for name in MASK_NAMES:
            text = MASK_LABELS[name]
            tooltip = f"<b>{text}</b>: {MASK_DESCRIPTIONS[name]}"
            button = self._small_button(text, tooltip, icons.mask_icon(preset_mask(name, seed=1)))
            row.addWidget(button)
            self.preset_buttons[name] = button
        self.clear_mask_button = self._small_button(
            "No mask",
            "<b>No mask</b>: every pixel observed",
            icons.mask_icon(np.zeros((SIDE, SIDE), bool)),
        )
        self.clear_mask_button.clicked.connect(self.canvas.clear_mask)
        row.addWidget(self.clear_mask_button)
        row.addStretch(1)
        return row

    def _small_button(self, text: str, tooltip: str, icon: QIcon) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setIcon(icon)
        button.setIconSize(QSize(26, 26))
        button.setAutoRaise(True)
        button.setToolTip(tooltip)
        return button

    def _build_impute_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.method_combo = QComboBox(self)
        for method in METHODS:
            self.method_combo.addItem(METHOD_LABELS.get(method, method), method)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData("importance")))
        self.method_combo.setToolTip(METHOD_TIP)
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(1, 2000)
        self.steps_spin.setPrefix("steps ")
        self.steps_spin.setToolTip("Chain length (Gibbs, Metropolis) or importance rounds")
        self.steps_spin.setKeyboardTracking(False)
        self.impute_button = QPushButton("Impute")
        self.impute_button.setToolTip(self.impute_action.toolTip())
        self.impute_button.clicked.connect(self.impute_action.trigger)
        self.live_check = QCheckBox("Live")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Impute again as you paint (skips stale frames, never lags)")
        row.addWidget(self.method_combo, 1)
        row.addWidget(self.steps_spin)
        row.addWidget(self.impute_button)
        row.addWidget(self.live_check)
        return row

    def _build_tiles(self) -> QHBoxLayout:
        self.original_tile = ImageTile("Original")
        self.original_tile.setToolTip("The canvas as painted, all pixels")
        self.masked_tile = ImageTile("Masked")
        self.masked_tile.setToolTip("What the model sees: missing pixels in pink")
        self.imputed_tile = ImageTile("Imputed")
        self.imputed_tile.setToolTip(
            "Observed pixels as painted, missing ones (outlined) filled in by the model"
        )
        tiles = QHBoxLayout()
        tiles.setSpacing(6)
        for tile in (self.original_tile, self.masked_tile, self.imputed_tile):
            tiles.addWidget(tile)
        return tiles

    # --- canvas -> controls ---------------------------------------------------------------
    def _on_canvas_tool_changed(self, tool: str) -> None:
        self.tool_actions[tool].setChecked(True)

    def _on_undo_index_changed(self) -> None:
        stack = self.canvas.undo_stack
        self.undo_action.setEnabled(stack.canUndo())
        self.redo_action.setEnabled(stack.canRedo())
        undo = f"Undo: {stack.undoText()}" if stack.canUndo() else "Undo"
        redo = f"Redo: {stack.redoText()}" if stack.canRedo() else "Redo"
        self.undo_action.setToolTip(tip(undo, "Ctrl+Z"))
        self.redo_action.setToolTip(tip(redo, "Ctrl+Shift+Z"))

"""What the canvas panel looks like: its widgets, actions, shortcuts, icons and tooltips.

``CanvasControls`` builds the tool row, the canvas beside the Original / Masked / Imputed
/ Spread tiles, the strip of imputation draws, the test-image / mask / impute rows and
the message lines, and wires what only touches
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
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.imputation import METHOD_LABELS, METHODS
from ...core.masks import MASK_DESCRIPTIONS, MASK_LABELS, MASK_NAMES, preset_mask
from ..labels import ElidedLabel, FixedLinesLabel
from ..tooltips import wrapped
from . import icons
from .impute_runner import DRAWS
from .paint_canvas import SIDE, PaintCanvas
from .tiles import ImageStrip, ImageTile

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
IMPUTE_TIP = (
    "Fill in the missing pixels with the model <b>(Ctrl+Return)</b>; press again for new "
    "draws (a new random seed)"
)
DRAWS_TIP = (
    "Several imputations drawn from the chosen method: each is one fill-in the model finds "
    "likely. Where they disagree, the model is unsure. Impute again for new draws."
)
SPREAD_TIP = (
    "How sure the model is, pixel by pixel: the standard deviation of the draws "
    "(black: all draws agree; pale yellow: the largest spread on show; a pixel in [0, 1] "
    "spreads at most 0.5). Observed pixels are 0."
)
# Short names for the method combo, which must fit a narrow dock; each item's tooltip and
# the combo's own give the full name (core's METHOD_LABELS, also used in messages).
METHOD_SHORT = {
    "single": "Single pass",
    "pseudo_gibbs": "Pseudo-Gibbs",
    "mwg": "Metropolis",
    "importance": "Importance",
}
# The steps box in plain words, per method: (prefix, tooltip).
STEPS_WORDS = {
    "single": ("steps ", "Single pass has no steps: it encodes once and decodes once"),
    "pseudo_gibbs": (
        "steps ",
        "Chain steps: how many times the chain alternates: draw a code z for the current image, then "
        "redraw the missing pixels from it. More steps: closer to the model's answer, slower.",
    ),
    "mwg": (
        "steps ",
        "Chain steps: how many times the chain proposes a new code z and accepts or rejects it, then "
        "redraws the missing pixels. More steps: closer to the model's answer, slower.",
    ),
    "importance": (
        "rounds ",
        "Rounds of importance sampling: each round encodes the image filled in by the "
        "previous round, draws 500 codes z from that guess and weights each by how well it "
        "explains the observed pixels. More rounds: a better guess, slower.",
    ),
}
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
            "Impute", ["Ctrl+Return"], "Fill in the missing pixels with the model (new draws each time)"
        )

    # --- layout ---------------------------------------------------------------------------
    def _tool_button(self, action: QAction) -> QToolButton:
        """An icon-only button (its tooltip names it and its shortcut)."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setIconSize(QSize(20, 20))
        button.setAutoRaise(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        return button

    def _build_ui(self) -> None:
        """Compact enough for the default window's Canvas dock (about 320 x 400 px): icon
        tool buttons, the canvas beside the result tiles, one line per control row."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)  # (with the canvas's 5-px cells, all of it shows at 1024 x 700)

        tools = QHBoxLayout()
        tools.setSpacing(1)
        for act in self.tool_actions.values():
            tools.addWidget(self._tool_button(act))
        tools.addSpacing(6)
        self.size_spin = QSpinBox(self)
        self.size_spin.setRange(1, 12)
        self.size_spin.setSuffix(" px")
        self.size_spin.setValue(self.canvas.brush_size())
        self.size_spin.setToolTip(tip("Brush diameter in canvas pixels", "[ / ]"))
        self.size_spin.valueChanged.connect(self.canvas.set_brush_size)
        tools.addWidget(self.size_spin)
        tools.addStretch(1)
        for act in (self.undo_action, self.redo_action, self.clear_action, self.grid_action):
            tools.addWidget(self._tool_button(act))
        layout.addLayout(tools)

        main = QHBoxLayout()
        main.setSpacing(6)
        main.addWidget(self.canvas, 3)
        main.addLayout(self._build_tiles(), 2)
        layout.addLayout(main, 1)
        self.draws_strip = ImageStrip(f"{DRAWS} draws: other fill-ins the model finds likely", DRAWS)
        self.draws_strip.setToolTip(DRAWS_TIP)
        layout.addWidget(self.draws_strip)

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(2)
        form.setColumnStretch(1, 1)
        self.digit_heading = _heading("Test digit")
        form.addWidget(self.digit_heading, 0, 0)
        form.addLayout(self._build_digit_row(), 0, 1)
        form.addWidget(_heading("Mask"), 1, 0)
        form.addLayout(self._build_preset_row(), 1, 1)
        method_row, impute_row = self._build_impute_rows()
        form.addWidget(_heading("Method"), 2, 0)
        form.addLayout(method_row, 2, 1)
        form.addLayout(impute_row, 3, 1)
        layout.addLayout(form)
        # Elided: a 10-d model's line is wider than the dock (it widened the whole panel).
        self.latent_label = ElidedLabel()
        self.show_encoding("")
        layout.addWidget(self.latent_label)
        self.message_label = FixedLinesLabel(2)  # (the controls above it never move)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message_label)
        # A click on the panel's background (or a button that takes no focus) focuses the
        # canvas, so its shortcuts (Ctrl+Z...) keep working: without this the click gave
        # focus to the dock's scroll area, outside the shortcuts' context.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setFocusProxy(self.canvas)

    def _build_digit_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(4)
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip(self.random_action.toolTip())
        self.random_button.clicked.connect(self.random_action.trigger)
        self.index_spin = QSpinBox(self)
        self.index_spin.setPrefix("#")
        self.index_spin.setRange(0, 0)
        self.index_spin.setToolTip("Index of the test image to load")
        self.index_spin.setKeyboardTracking(False)
        self.load_button = QPushButton("Load #")
        self.load_button.setToolTip("Load the test image with this index")
        for button in (self.random_button, self.load_button):
            button.setMinimumWidth(56)
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
        button.setIconSize(QSize(22, 22))
        button.setAutoRaise(True)
        button.setToolTip(tooltip)
        return button

    def _build_impute_rows(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        """The method and its steps on one row, Impute and Live under them: on one row
        they would not fit the default Canvas dock."""
        self.method_combo = QComboBox(self)
        for i, method in enumerate(METHODS):
            full = METHOD_LABELS.get(method, method)
            self.method_combo.addItem(METHOD_SHORT.get(method, full), method)
            self.method_combo.setItemData(i, full, Qt.ItemDataRole.ToolTipRole)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData("importance")))
        self.method_combo.setToolTip(METHOD_TIP)
        # As wide as the longest short name, so none is cut off.
        self.method_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(1, 999)
        self.steps_spin.setKeyboardTracking(False)
        self.impute_button = QPushButton("Impute")
        self.impute_button.setToolTip(IMPUTE_TIP)
        self.impute_button.clicked.connect(self.impute_action.trigger)
        self.live_check = QCheckBox("Live")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Impute again as you paint (skips stale frames, never lags)")
        method_row = QHBoxLayout()
        method_row.setSpacing(4)
        method_row.addWidget(self.method_combo, 1)
        method_row.addWidget(self.steps_spin)
        impute_row = QHBoxLayout()
        impute_row.setSpacing(8)
        impute_row.addWidget(self.impute_button, 1)
        impute_row.addWidget(self.live_check)
        self.show_steps_for("importance")
        return method_row, impute_row

    def show_encoding(self, text: str) -> None:
        """The drawing's encoding on one line; the tooltip has all of it and what it is."""
        self.latent_label.setText(text)
        self.latent_label.setToolTip(wrapped(f"{text}\n\n{LATENT_TIP}" if text else LATENT_TIP))

    def show_steps_for(self, method: str) -> None:
        """Name the steps box in plain words for ``method`` (rounds, or chain steps)."""
        prefix, text = STEPS_WORDS.get(method, STEPS_WORDS["single"])
        self.steps_spin.setPrefix(prefix)
        self.steps_spin.setToolTip(text)

    def _build_tiles(self) -> QGridLayout:
        self.original_tile = ImageTile("Original")
        self.original_tile.setToolTip("The canvas as painted, all pixels")
        self.masked_tile = ImageTile("Masked")
        self.masked_tile.setToolTip("What the model sees: missing pixels in pink")
        self.imputed_tile = ImageTile("Imputed")
        self.imputed_tile.setToolTip(
            "Observed pixels as painted, missing ones (outlined) filled in by the model: "
            "its best guess (the average over its possible fill-ins)"
        )
        self.spread_tile = ImageTile("Spread", heat=True)
        self.spread_tile.setToolTip(SPREAD_TIP)
        tiles = QGridLayout()
        tiles.setSpacing(4)
        for i, tile in enumerate((self.original_tile, self.masked_tile, self.imputed_tile, self.spread_tile)):
            tiles.addWidget(tile, i // 2, i % 2)
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

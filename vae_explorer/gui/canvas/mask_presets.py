"""The canvas's preset masks: a click puts one on the canvas (undoable), and the buttons
show which one is on it (checked; none for a painted mask, "No mask" when nothing is hidden)."""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtWidgets import QToolButton

from ...core.masks import preset_mask
from .paint_canvas import PaintCanvas

RECENT_RANDOM = 20  # random masks still recognised as such (undo brings back earlier ones)


class MaskPresets:
    """Wires ``buttons`` (by preset name) and ``none_button`` (which clears the mask: the
    controls connect it) to ``canvas``."""

    def __init__(
        self, canvas: PaintCanvas, buttons: dict[str, QToolButton], none_button: QToolButton
    ) -> None:
        self.canvas, self.buttons, self.none_button = canvas, buttons, none_button
        self._random_seed = 0
        for name, button in buttons.items():
            button.clicked.connect(lambda _=False, n=name: self.apply(n))
        for button in (*buttons.values(), none_button):
            button.setCheckable(True)  # checked: the mask on the canvas is this one
            button.clicked.connect(self.show_active)  # (a click on it toggles it)
        canvas.changed.connect(self.show_active)
        self.show_active()

    def apply(self, name: str) -> None:
        """Replace the mask with preset ``name`` ("middle_rows", "left_half", ...); "random"
        hides a new random half of the pixels at each call."""
        if name == "random":
            self._random_seed += 1
        mask = preset_mask(name, seed=self._random_seed)
        label = self.buttons[name].text() if name in self.buttons else name
        self.canvas.set_mask(mask, text=f"Mask: {label}")

    def show_active(self) -> None:
        """Check the preset button whose mask is the canvas's (none for a painted one)."""
        mask = self.canvas.mask_array()
        latest = self._random_seed
        for name, button in self.buttons.items():
            seeds = range(max(latest - RECENT_RANDOM + 1, 1), latest + 1) if name == "random" else (0,)
            button.setChecked(any(np.array_equal(mask, _preset(name, k)) for k in seeds))
        self.none_button.setChecked(not mask.any())


@functools.lru_cache(maxsize=64)
def _preset(name: str, seed: int) -> np.ndarray:
    """A preset mask, made once (the buttons compare the canvas with them at every stroke)."""
    return preset_mask(name, seed=seed)

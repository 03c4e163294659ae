"""The window's style: a toggle button that is on can be told from one that is off."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QPushButton, QToolButton


def _mean_rgb(widget) -> np.ndarray:
    image = widget.grab().toImage()
    w, h = image.width(), image.height()
    pixels = [image.pixelColor(x, y) for x in range(2, w - 2, 3) for y in range(2, h - 2, 3)]
    return np.array([[c.red(), c.green(), c.blue()] for c in pixels], float).mean(0)


def test_a_toggle_that_is_on_is_drawn_in_the_highlights_colour(qtbot, app_theme):
    for kind in (QPushButton, QToolButton):
        button = kind()
        button.setText("Grid")
        button.setCheckable(True)
        qtbot.addWidget(button)
        button.resize(80, 28)
        off = _mean_rgb(button)
        button.setChecked(True)
        on = _mean_rgb(button)
        # Fusion's own "on" was a shade darker: now it leans to the highlight's blue.
        assert on[2] - on[0] > off[2] - off[0] + 15, (kind.__name__, off, on)

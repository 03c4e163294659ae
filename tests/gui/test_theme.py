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


def _ring_pixels(state) -> int:
    """Pixels in the focus ring's colour on a command button panel drawn with ``state``."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton

    from vae_explorer.gui.theme import FOCUS_RING

    image = QImage(80, 28, QImage.Format.Format_RGB32)
    image.fill(0)
    option = QStyleOptionButton()
    option.rect = QRect(0, 0, 80, 28)
    option.palette = QApplication.palette()
    option.state = QStyle.StateFlag.State_Enabled | state
    painter = QPainter(image)
    QApplication.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelButtonCommand, option, painter)
    painter.end()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(28, 80, 4)[..., :3][..., ::-1].astype(int)
    ring = np.array([FOCUS_RING.red(), FOCUS_RING.green(), FOCUS_RING.blue()])
    return int((np.abs(rgb - ring).sum(-1) < 40).sum())


def test_the_keyboards_focus_is_a_ring_that_can_be_seen(app_theme):
    """Fusion's 1-px blue on dark grey could barely be seen on a button, a tab or a slider."""
    from PySide6.QtWidgets import QStyle

    keyboard = QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange
    assert _ring_pixels(keyboard) > 150  # round a 80 x 28 button, 2 px wide
    assert _ring_pixels(QStyle.StateFlag.State_HasFocus) == 0  # a click's focus: no ring


def test_a_disabled_control_is_not_drawn_in_the_highlight(app_theme):
    """The disabled Smooth slider's groove was filled in the highlight, as if it worked."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    palette, role, group = QApplication.palette(), QPalette.ColorRole.Highlight, QPalette.ColorGroup
    assert palette.color(group.Disabled, role) != palette.color(group.Active, role)


def test_a_tab_bar_with_the_keyboards_focus_rings_its_current_tab(qtbot, app_theme):
    """The dock tab bars take Tab's focus (the arrow keys then switch docks) but showed no
    sign of having it."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QTabBar, QVBoxLayout, QWidget

    from vae_explorer.gui.theme import FOCUS_RING

    host = QWidget()
    qtbot.addWidget(host)
    bar = QTabBar()
    for title in ("Timeline", "Walk", "Traversal"):
        bar.addTab(title)
    QVBoxLayout(host).addWidget(bar)
    host.show()
    qtbot.waitExposed(host)

    def ring_pixels() -> int:
        image = bar.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        rgb = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4)
        rgb = rgb[..., :3][..., ::-1].astype(int)
        ring = np.array([FOCUS_RING.red(), FOCUS_RING.green(), FOCUS_RING.blue()])
        return int((np.abs(rgb - ring).sum(-1) < 40).sum())

    assert ring_pixels() == 0
    bar.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(bar.hasFocus)
    assert ring_pixels() > 60

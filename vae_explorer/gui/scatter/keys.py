"""The latent scatter from the keyboard: what a click, a drag and a right-click do.

Tab stops at the plot (a ring shows it has the focus); then the arrow keys move the
crosshair, decoding as it goes (Shift: farther), the view panning to keep it in sight;
Enter picks the test point nearest the crosshair (its input and reconstruction, as a click
on it); the Menu key or Shift+F10 opens the right-click menu there; + and - zoom about it;
0-9 hide or show a class. Each acts only while the plot has the focus; the actions are the
plot's own, so the Help ▸ Keyboard shortcuts page lists them under "Latent scatter".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from .view import LatentScatterView

STEP = 1 / 50  # of the visible range, per arrow key press
FAR_STEP = 1 / 10  # with Shift
ZOOM = 0.8  # the range's factor per "+" (and 1 / ZOOM per "-")
SHORTCUT_AREA = "Latent scatter"  # (help.py groups the actions under it)

# (name, text, keys, (dx, dy)) for the four directions
MOVES = (
    ("left", "Move the crosshair left (Shift: farther)", "Left", (-1, 0)),
    ("right", "Move the crosshair right (Shift: farther)", "Right", (1, 0)),
    ("up", "Move the crosshair up (Shift: farther)", "Up", (0, 1)),
    ("down", "Move the crosshair down (Shift: farther)", "Down", (0, -1)),
)


class ScatterKeys(QObject):
    """The plot's keyboard actions (see the module docstring)."""

    def __init__(self, view: LatentScatterView) -> None:
        super().__init__(view)
        self.view = view
        plot = view.plot
        plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.actions: dict[str, QAction] = {}
        for name, text, key, (dx, dy) in MOVES:
            # (*_: triggered passes "checked" first, which would land in dx)
            self._add(name, text, [key, f"Shift+{key}"], lambda *_, dx=dx, dy=dy: self.move(dx, dy))
        self._add("pick", "Pick the test point nearest the crosshair", ["Return", "Enter"], self.pick)
        self._add("menu", "Menu for the crosshair's point", ["Menu", "Shift+F10"], self.open_menu)
        self._add("zoom_in", "Zoom in about the crosshair", ["+", "="], lambda: self.zoom(ZOOM))
        self._add("zoom_out", "Zoom out about the crosshair", ["-"], lambda: self.zoom(1 / ZOOM))
        # The digit keys hide or show a class, as a click on its legend row (shortcuts, not
        # actions: the shortcuts page has one row for the ten, in help.py's MOUSE_CONTROLS).
        for label in range(10):
            digit = QShortcut(QKeySequence(str(label)), plot, context=Qt.ShortcutContext.WidgetShortcut)
            digit.activated.connect(lambda label=label: view.legend.toggle_class(label))

    def _add(self, name: str, text: str, keys: list[str], slot: object) -> None:
        action = QAction(text, self.view.plot)
        action.setObjectName(f"scatter_{name}")
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        self.view.plot.addAction(action)
        self.actions[name] = action

    # --- where ---------------------------------------------------------------------------
    def _here(self) -> tuple[float, float]:
        """The crosshair, or the middle of the view while it is hidden."""
        pos = self.view.crosshair_pos()
        if pos is not None:
            return pos
        (x0, x1), (y0, y1) = self.view.visible_range()
        return (x0 + x1) / 2, (y0 + y1) / 2

    # --- actions -------------------------------------------------------------------------
    def move(self, dx: int, dy: int) -> None:
        """The crosshair a step along (dx, dy), decoding there; the view pans after it."""
        view = self.view
        if view.state.model is None:
            return
        far = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        (x0, x1), (y0, y1) = view.visible_range()
        step = FAR_STEP if far else STEP
        x, y = self._here()
        x, y = x + dx * step * (x1 - x0), y + dy * step * (y1 - y0)
        # Kept in sight: the view follows a crosshair that would leave it.
        shift_x = min(0.0, x - x0) + max(0.0, x - x1)
        shift_y = min(0.0, y - y0) + max(0.0, y - y1)
        if shift_x or shift_y:
            view.vb.translateBy(x=shift_x, y=shift_y)
        view.state.set_current_z_from_plane((x, y))
        self._hover_near(x, y)

    def pick(self) -> None:
        """Pick the shown test point nearest the crosshair on screen, as a click on it."""
        view = self.view
        if view.state.test_set is None:
            return
        i = view.point_near(QPointF(*self._here()), radius_px=math.inf)
        if i < 0:
            return
        x, y = view.cloud.points()
        view.state.set_current_z_from_plane((float(x[i]), float(y[i])))
        view.state.set_picked_index(i)
        view.hovering.show_for(i)

    def open_menu(self) -> None:
        """The right-click menu for the point at the crosshair (a test point there, if any)."""
        view = self.view
        x, y = self._here()
        i = view.point_near(QPointF(x, y)) if view.state.test_set is not None else -1
        spot = view.data_to_viewport(x, y).toPoint()
        screen: QPoint = view.plot.viewport().mapToGlobal(spot)
        view.hovering.hide()
        view.context_menu.open_at(i if i >= 0 else None, (x, y), screen)

    def zoom(self, factor: float) -> None:
        x, y = self._here()
        self.view.vb.scaleBy((factor, factor), center=QPointF(x, y))

    def _hover_near(self, x: float, y: float) -> None:
        """The thumbnail card of a test point under the crosshair, as a hover shows it."""
        view = self.view
        if view.state.test_set is None:
            return
        i = view.point_near(QPointF(x, y))
        if i >= 0:
            view.hovering.show_for(i)
        else:
            view.hovering.hide()

"""The scatter's right-click menu: what can be done with the test digit under the cursor
(walk from or to it, traverse from it, copy it to the canvas), or with the point of the
plane under it on empty space, and the view's own entries (view all, exports).

The scatter opens it on a right click (not a right drag: that pans). The view knows only
the state, so the window adds the entries that reach other panels with
:meth:`ScatterContextMenu.add_point_action` / :meth:`add_space_action` /
:meth:`add_view_action`; each entry is shown only where it applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from ..state import ExplorerState

PointSlot = Callable[[int], None]
SpaceSlot = Callable[[np.ndarray], None]
Condition = Callable[[], bool]


@dataclass
class _Entry:
    action: QAction
    applies: Condition | None


class ScatterContextMenu(QMenu):
    """The menu; ``index`` is the test image it was opened on (None on empty space) and
    ``code`` the latent code of the clicked point of the plane (None where it has none)."""

    opened = Signal()  # the menu was shown (the hover card stops advertising it)

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTipsVisible(True)
        self._state = state
        # The entries' owner: QMenu.clear() deletes the actions it owns itself.
        self._owner = QObject(self)
        self.index: int | None = None
        self.code: np.ndarray | None = None
        self._point: list[_Entry] = []
        self._space: list[_Entry] = []
        self._view: list[QAction] = []
        self._header = QAction(self._owner)
        self._header.setEnabled(False)
        # Named as in the View menu, with its shortcut (it said "View all" here).
        self.view_all = self._new_action("Reset zoom\tCtrl+0", "Show every point (Ctrl+0)")
        self.view_all.setObjectName("view_all")

    # --- entries ---------------------------------------------------------------------------
    def add_point_action(
        self, name: str, text: str, tip: str, slot: PointSlot, applies: Condition | None = None
    ) -> QAction:
        """An entry shown on a test point (and when ``applies()``); runs ``slot(index)``."""
        action = self._new_action(text, tip, name)
        action.triggered.connect(lambda: self._run_on_point(slot))
        self._point.append(_Entry(action, applies))
        return action

    def add_space_action(
        self, name: str, text: str, tip: str, slot: SpaceSlot, applies: Condition | None = None
    ) -> QAction:
        """An entry shown on empty space that has a code (and when ``applies()``); runs
        ``slot(code)`` with the code of the clicked point of the plane."""
        action = self._new_action(text, tip, name)
        action.triggered.connect(lambda: self._run_on_space(slot))
        self._space.append(_Entry(action, applies))
        return action

    def _run_on_point(self, slot: PointSlot) -> None:
        if self.index is not None:
            slot(self.index)

    def _run_on_space(self, slot: SpaceSlot) -> None:
        if self.code is not None:
            slot(self.code.copy())

    def add_view_action(self, action: QAction) -> None:
        """One of the window's actions on the view (e.g. an export), offered everywhere."""
        self._view.append(action)

    def action(self, name: str) -> QAction | None:
        """The entry called ``name`` (its objectName), for the window and tests."""
        for entry in [*self._point, *self._space]:
            if entry.action.objectName() == name:
                return entry.action
        return self.view_all if name == "view_all" else None

    def shown_actions(self) -> list[QAction]:
        """The entries on show now, in order (separators and the header left out)."""
        return [a for a in self.actions() if a.isVisible() and not a.isSeparator() and a is not self._header]

    # --- opening ---------------------------------------------------------------------------
    def prepare(self, index: int | None, plane_xy: tuple[float, float]) -> None:
        """Fill the menu for a right click on test image ``index`` (or empty space) at
        ``plane_xy`` of the scatter's plane."""
        self.index = index
        self.code = self._code_at(plane_xy) if index is None else None
        self.clear()
        self._header.setText(self._title())
        self.addAction(self._header)
        entries = self._point if index is not None else self._space if self.code is not None else []
        shown = [e.action for e in entries if e.applies is None or e.applies()]
        for action in shown:
            self.addAction(action)
        if shown:
            self.addSeparator()
        self.addAction(self.view_all)
        for action in self._view:
            self.addAction(action)

    def open_at(self, index: int | None, plane_xy: tuple[float, float], screen: QPoint) -> None:
        """Fill the menu and show it at ``screen`` (global coordinates); does not block."""
        self.prepare(index, plane_xy)
        self.popup(screen)
        self.opened.emit()

    def _title(self) -> str:
        test = self._state.test_set
        if self.index is None or test is None:
            return "This point of the plane" if self.code is not None else "The view"
        label = int(test.labels[self.index])
        name = test.classes[label] if label < len(test.classes) else str(label)
        noun = "digit" if test.classes == [str(d) for d in range(10)] else "image"
        return f"Test {noun} #{self.index} ({name})"

    def _code_at(self, xy: tuple[float, float]) -> np.ndarray | None:
        """The code a point of the plane stands for; None on a UMAP / t-SNE map (no inverse
        there) or without a model."""
        state = self._state
        if state.model is None or state.plane.is_map:
            return None
        return np.asarray(state.plane.codes_at(np.asarray([xy]))[0], np.float32)

    def _new_action(self, text: str, tip: str, name: str = "") -> QAction:
        action = QAction(text, self._owner)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setObjectName(name)
        return action

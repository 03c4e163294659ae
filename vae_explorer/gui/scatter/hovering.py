"""The scatter's hover card at work: shown beside the test point under the mouse (moves
coalesced), kept with its point while the view zooms or the points move, hidden when the
point leaves the screen or its class is hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from superqt.utils import qthrottled

from .hover_card import HoverCard

if TYPE_CHECKING:
    from .view import LatentScatterView

HOVER_MS = 15  # hover moves are coalesced: the card follows the latest one
MENU_HINT = "right-click: walk, traverse…"  # on the card until the menu was opened


class Hovering:
    """Owns the view's :class:`HoverCard` (``card``) and what moves it."""

    def __init__(self, view: LatentScatterView) -> None:
        self.view = view
        self.card = HoverCard(view.plot)
        self.menu_hint = MENU_HINT
        self._later = qthrottled(self.show_at, timeout=HOVER_MS, leading=False)

    def request(self, pos: QPointF) -> None:
        """The mouse moved to ``pos``: the card follows after HOVER_MS (the latest move)."""
        self._later(pos)

    def hide(self) -> None:
        """Hide the card and drop a hover still pending, so it cannot show up again."""
        self._later.cancel()
        self.card.hide()

    def show_at(self, pos: QPointF) -> None:
        view = self.view
        self.show_for(view.point_near(pos) if view.state.test_set is not None else -1)

    def show_for(self, i: int) -> None:
        """The card beside test point ``i``; none unless ``i`` is a shown point on screen."""
        view = self.view
        test, (xs, ys) = view.state.test_set, view.cloud.points()
        if test is None or not 0 <= i < min(len(test), xs.size) or not view.cloud.visible_mask()[i]:
            self.card.hide()
            return
        at = view.data_to_viewport(float(xs[i]), float(ys[i]))
        if not view.plot.mapFromScene(view.vb.sceneBoundingRect()).boundingRect().contains(at.toPoint()):
            self.card.hide()
            return
        if self.card.isVisible() and self.card.index == i:
            self.card.place(at)  # (a zoom or pan moves it every frame: no new picture)
            return
        label = int(test.labels[i])
        name = test.classes[label] if label < len(test.classes) else str(label)
        self.card.show_item(i, test.images[i], f"{name}  ·  #{i}", at, self.menu_hint)

    def follow(self) -> None:
        """A card on show stays with its point when the view or the points move."""
        if self.card.isVisible():
            self.show_for(self.card.index)

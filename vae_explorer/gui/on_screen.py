"""Work for what the user can see: a view behind another tab refreshes when it comes up.

``QWidget.isVisible()`` is no guide here: a dock in a tab behind another dock (Posterior
behind Latent grid, Traversal behind Timeline) stays "visible" to Qt, on every platform,
only covered. So every view that recomputes on a click or a training snapshot would
decode, solve and paint for nothing, taking the CPU (and the GIL) from training. A widget
is on screen when some of it or of its children is exposed: ``visibleRegion()`` is empty
for every widget of a covered tab (and for a container its children cover).

:class:`RefreshWhenShown` runs a view's refresh now when the view is on screen, or else
once, when it next comes up (its dock's tab raised, the dock or the view shown). Views
refresh their whole picture from the state, so skipping any number of requests while
hidden loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget


def on_screen(widget: QWidget) -> bool:
    """Whether some of ``widget`` is exposed now: shown, and not in a dock tab behind
    another (about 0.1 ms for a panel of 50 widgets)."""
    if not widget.isVisible():
        return False
    if not widget.visibleRegion().isEmpty():
        return True
    return any(c.isVisible() and not c.visibleRegion().isEmpty() for c in widget.findChildren(QWidget))


def enclosing_dock(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


class RefreshWhenShown(QObject):
    """``request()`` runs ``refresh`` at once while ``widget`` is on screen; while it is
    not, the request is kept (once, however many come) and runs when the widget is next
    painted. ``skipped`` counts requests that found the widget hidden (for tests)."""

    def __init__(self, widget: QWidget, refresh: Callable[[], object]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._refresh = refresh
        self._dock: QDockWidget | None = None  # whose visibilityChanged we listen to
        self.pending = False
        self.skipped = 0

    def request(self) -> None:
        if on_screen(self._widget):
            self._clear_pending()
            self._refresh()
            return
        self.skipped += 1
        if not self.pending:
            self.pending = True
            # Only while a request waits: nothing is watched otherwise.
            self._widget.installEventFilter(self)
            self._watch_dock()

    def _watch_dock(self) -> None:
        """Listen to the enclosing dock's raised tab. Looked up when a request starts to
        wait and again when the view is shown: views are built first and put into their
        docks later, and a request made in between would otherwise wait for good (a raised
        tab shows its dock, not the view inside, which Qt counts as shown all along)."""
        if self._dock is None:
            self._dock = enclosing_dock(self._widget)
            if self._dock is not None:
                self._dock.visibilityChanged.connect(self._on_dock_visibility)

    def cancel(self) -> None:
        """Forget a waiting request."""
        self._clear_pending()

    def _clear_pending(self) -> None:
        if self.pending:
            self.pending = False
            self._widget.removeEventFilter(self)
            if self._dock is not None:
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility)
                self._dock = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self._widget and event.type() == QEvent.Type.Show:
            self._run_soon()
        return False

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible:
            self._run_soon()

    def _run_soon(self) -> None:
        # After Qt has laid the newly shown widgets out (their regions are known then).
        QTimer.singleShot(0, self, self._run_pending)

    def _run_pending(self) -> None:
        if not self.pending:
            return
        if on_screen(self._widget):
            self._clear_pending()
            self._refresh()
            return
        self._watch_dock()  # shown behind another tab: its dock's tab raises it

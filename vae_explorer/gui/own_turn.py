"""Work that may wait a moment runs one item per turn of the event loop.

A training snapshot makes every view redraw: the grid decodes, the canvas copies the
model, the samples decode, ... Run back to back they held the event loop for 70-110 ms,
a stutter under a drag or a click. Queued here, each runs in a turn of its own, and input
and paint events are handled between them: the longest wait is the longest single item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer


class _Turns:
    def __init__(self) -> None:
        self._queue: deque[tuple[QObject, Callable[[], object]]] = deque()
        self._timer: QTimer | None = None

    def add(self, owner: QObject, work: Callable[[], object]) -> None:
        if any(o is owner and w == work for o, w in self._queue):
            return  # already waiting: it will read the state as it is when it runs
        self._queue.append((owner, work))
        self._schedule()

    def forget(self, owner: QObject) -> None:
        self._queue = deque((o, w) for o, w in self._queue if o is not owner)

    def pending(self) -> int:
        return len(self._queue)

    def _schedule(self) -> None:
        if not self._queue:
            return
        # One zero-interval timer, owned by the application: a later QApplication in the
        # same process (a script, a notebook) gets a new one instead of waiting forever.
        if self._timer is None or not shiboken6.isValid(self._timer):
            self._timer = QTimer(QCoreApplication.instance(), singleShot=True, interval=0)
            self._timer.timeout.connect(self._run_one)
        if not self._timer.isActive():
            self._timer.start()

    def _run_one(self) -> None:
        try:
            while self._queue:
                owner, work = self._queue.popleft()
                if shiboken6.isValid(owner):  # its view may have closed meanwhile
                    work()
                    return
        finally:
            self._schedule()


_turns = _Turns()


def in_own_turn(owner: QObject, work: Callable[[], object]) -> None:
    """Run ``work`` soon, in an event-loop turn of its own, unless ``owner`` is deleted by
    then; once, however many times it was asked for meanwhile."""
    _turns.add(owner, work)


def forget(owner: QObject) -> None:
    """Drop ``owner``'s work not run yet (its view shut down, or redrew at once instead)."""
    _turns.forget(owner)


def waiting() -> int:
    """Items not run yet (for tests)."""
    return _turns.pending()

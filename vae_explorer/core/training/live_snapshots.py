"""When a run hands its weights to the live views in the middle of an epoch.

Every ``snapshot_every`` batches, and also once ``snapshot_seconds`` of training have passed
since the last snapshot: an epoch that takes a fraction of a second on one machine takes
ten on a slower or busier one, and the views should not show the untrained model for all
of it. The time the consumer spends on a snapshot is not counted (the clock restarts when
the run resumes).
"""

from __future__ import annotations

import time


class LiveSnapshots:
    """``due(done, batches)`` after each batch; ``taken()`` once a snapshot has gone out."""

    def __init__(self, every: int, seconds: float) -> None:
        self.every, self.seconds = every, seconds
        self._last = time.perf_counter()

    def due(self, done: int, batches: int) -> bool:
        """Whether a mid-epoch snapshot is due after ``done`` of ``batches`` batches (the
        epoch's end has its own)."""
        if not self.every or done >= batches:
            return False
        if done % self.every == 0:
            return True
        return self.seconds > 0 and time.perf_counter() - self._last >= self.seconds

    def taken(self) -> None:
        self._last = time.perf_counter()

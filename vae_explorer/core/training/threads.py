"""The training step's intra-op thread count: the faster of the caller's count and one.

With OpenMP's spin-waiting threads, a step that splits every product across all cores
waits at each of its ~30 parallel regions for its slowest thread; once another process
holds one of the cores (a browser, a build, the window's own drawing), that thread runs
only in the scheduler's slices and the step slows up to ~10x. One thread then does better.
:class:`ThreadTuner` times a few steps at each count, keeps the faster, and checks again
after a while (the interval doubles while the choice holds), so an idle machine keeps all
its threads and a busy one falls back to one core's speed instead of a tenth of it. The
MLP step's results do not depend on the thread count (tests/core/test_training_threads.py).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


class ThreadTuner:
    """Brackets each step with :meth:`begin` / :meth:`end` and switches
    ``torch.set_num_threads`` between the count found at construction and 1."""

    def __init__(
        self,
        enabled: bool = True,
        probe_steps: int = 7,
        probe_seconds: float = 0.25,
        recheck_seconds: float = 2.0,
        max_recheck_seconds: float = 60.0,
        margin: float = 0.1,
        first_probe_seconds: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.most = torch.get_num_threads()
        self.options: tuple[int, ...] = (self.most, 1) if enabled and self.most > 1 else (self.most,)
        self.probe_steps, self.probe_seconds = probe_steps, probe_seconds
        self.recheck_seconds, self.max_recheck_seconds = recheck_seconds, max_recheck_seconds
        self.margin = margin  # a switch needs the other count this much faster (no flapping)
        self.clock = clock
        self.choice = self.most
        self.switches = 0  # how often the choice changed (for tests and benchmarks)
        self.seconds_per_step: dict[int, float] = {}  # the last probe's figures
        self.hopeless = 5.0  # a probed count this many times slower is dropped after one step
        self._queue: list[int] = []
        self._round: dict[int, float] = {}  # medians of the probe under way
        self._samples: list[float] = []
        self._interval = recheck_seconds
        # The first probe waits this long into the run: its first steps share the CPU with
        # the run's own start (the window drawing its first batch, caches warming), which
        # would make all the threads look slower than they are for the rest of the run.
        self.first_probe_seconds = first_probe_seconds
        self._next_probe: float | None = None
        self._started = 0.0

    @property
    def active(self) -> bool:
        """Whether there is a choice to make (more than one thread to start with)."""
        return len(self.options) > 1

    def begin(self) -> None:
        """Call right before a step."""
        self._started = self.clock()

    def end(self) -> None:
        """Call right after the step (optimizer update included)."""
        if not self.active:
            return
        now = self.clock()
        if self._next_probe is None:
            self._next_probe = self._started + self.first_probe_seconds
        if not self._queue:
            if now >= self._next_probe:
                self._round = {}
                self._queue = sorted(self.options, key=lambda n: n != self.choice)  # current first
                self._start_probe()
            return
        self._samples.append(now - self._started)
        if self._probe_done():
            self._round[self._queue.pop(0)] = statistics.median(self._samples)
            if self._queue:
                self._start_probe()
            else:
                self.seconds_per_step = dict(self._round)
                self._decide(now)

    def _probe_done(self) -> bool:
        """Enough steps at this count: a median of a few (one stray step does not decide),
        fewer when steps are slow, one when it is many times slower than the current count."""
        n, total = len(self._samples), sum(self._samples)
        reference = self._round.get(self.choice)
        hopeless = reference is not None and self._samples[-1] > self.hopeless * reference
        return n >= self.probe_steps or (n >= 3 and total >= self.probe_seconds) or hopeless

    def restore(self) -> None:
        """Put back the thread count found at construction."""
        if self.active:
            torch.set_num_threads(self.most)

    def _start_probe(self) -> None:
        torch.set_num_threads(self._queue[0])
        self._samples = []

    def _decide(self, now: float) -> None:
        current = self.seconds_per_step[self.choice]
        best = min(self.seconds_per_step, key=self.seconds_per_step.__getitem__)
        if best != self.choice and self.seconds_per_step[best] < current * (1 - self.margin):
            self.choice = best
            self.switches += 1
            self._interval = self.recheck_seconds
        else:
            self._interval = min(self._interval * 2, self.max_recheck_seconds)
        torch.set_num_threads(self.choice)
        self._next_probe = now + self._interval

"""One intra-op CPU thread for the calling thread while one image is analysed.

One image's arrays are small: with two threads every operation pays a hand-off, and on a
busy CPU the second thread is often descheduled, so each parallel region waits for it
(measured on a loaded 2-core machine: exact_posterior 615 ms median with 2 threads, 165 ms
with 1). torch.set_num_threads sets the calling thread's OpenMP and MKL counts (both are
per-thread settings: a training worker keeps its own) and the default for threads that
start later; the previous count is restored on the way out. Setting OpenMP's count alone
is not enough: MKL's matrix products would still use two threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_local = threading.local()


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one intra-op thread in the calling thread (re-entrant)."""
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        _local.saved = torch.get_num_threads()
        torch.set_num_threads(1)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth
        if depth == 0:
            torch.set_num_threads(_local.saved)

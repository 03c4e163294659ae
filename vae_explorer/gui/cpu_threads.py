"""Keep the GUI thread's own torch work on one CPU thread.

With torch's OpenMP backend, each thread that runs a parallel region gets its own OpenMP
team. Once the GUI thread has one (it decodes and encodes with torch), the training worker's
team runs at about half speed on a 2-core machine: measured 22k vs 50k images/s. OpenMP's
thread count is a per-thread setting (the nthreads ICV), so giving the GUI thread one thread
leaves the worker's team alone; the GUI's decodes are tiny and lose nothing. torch exposes
only the process-wide setter, so the OpenMP runtime that torch loaded is called directly.
"""

from __future__ import annotations

import ctypes
import glob
import os

import torch


def _openmp_runtime() -> ctypes.CDLL | None:
    if "OpenMP" not in torch.__config__.parallel_info():
        return None
    torch_dir = os.path.dirname(torch.__file__)
    for pattern in ("lib/libgomp*.so*", "../torch.libs/libgomp*.so*", "lib/libiomp5*"):
        for path in sorted(glob.glob(os.path.join(torch_dir, pattern))):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def use_one_cpu_thread_in_this_thread() -> bool:
    """Limit torch's intra-op threads of the calling thread to 1; True if it could."""
    runtime = _openmp_runtime()
    if runtime is None or not hasattr(runtime, "omp_set_num_threads"):
        return False
    runtime.omp_set_num_threads(1)
    return torch.get_num_threads() == 1

"""Choosing the torch device: "auto" picks CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import os
from pathlib import Path

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(RuntimeError):
    """The requested compute device is not present on this machine."""


# What torch's allocators say when they fail (CPU: "DefaultCPUAllocator: can't allocate
# memory"; CUDA and MPS: "... out of memory"): they raise RuntimeError, not MemoryError.
_ALLOCATOR_FAILURES = ("can't allocate memory", "out of memory", "defaultcpuallocator", "bad_alloc")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the machine (or the GPU) ran out of memory."""
    if isinstance(exc, MemoryError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _ALLOCATOR_FAILURES)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Devices present here, CPU always last-but-present: e.g. ["cuda", "cpu"]."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """The torch.device for a user's choice, or DeviceError naming what is missing."""
    name = (name or "auto").lower()
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device(available_devices()[0])
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but no CUDA GPU is available (torch "
                f"{torch.__version__}, built with CUDA {torch.version.cuda or 'none'}); "
                "choose 'cpu' or 'auto'"
            )
        device = torch.device(name)
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"{name} was requested but this machine has {count} CUDA GPU(s)")
        return device
    if name == "mps" and not _mps_available():
        raise DeviceError("MPS (Apple GPU) was requested but is not available; choose 'cpu' or 'auto'")
    return torch.device(name)


def available_memory() -> int:
    """Bytes this process can still allocate, as far as the system tells: the smallest of
    the memory available (/proc/meminfo), the container's limit (cgroup v2) and this
    process's own address-space limit (RLIMIT_AS). Used to refuse sizes that cannot fit
    with a message instead of dying in the allocator."""
    candidates = [_meminfo_available(), _cgroup_headroom(), _rlimit_headroom()]
    known = [c for c in candidates if c is not None]
    return min(known) if known else 8 << 30


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_headroom() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        return None


def _rlimit_headroom() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(0, soft - int(line.split()[1]) * 1024)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return None

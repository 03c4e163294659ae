"""Choosing the torch device: "auto" picks CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(RuntimeError):
    """The requested compute device is not present on this machine."""


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

"""One text form for latent codes wherever a label shows one: signed (a sign that flips
does not shift the digits), two decimals, a true minus sign, the first few dimensions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

MINUS = "\u2212"


def coordinate_text(value: float, signed: bool = True) -> str:
    """+1.05 / −0.30 / +0.00 (without ``signed``: 1.05 / −0.30)."""
    return (f"{value:+.2f}" if signed else f"{value:.2f}").replace("-", MINUS)


def vector_text(values: Iterable[float] | np.ndarray, shown: int = 3, signed: bool = True) -> str:
    """(+0.12, −1.30) or, past ``shown`` dimensions, (+0.12, −1.30, +0.40, …); ``signed``
    False for quantities that cannot be negative (standard deviations)."""
    flat = np.asarray(values, np.float64).reshape(-1)
    parts = [coordinate_text(v, signed) for v in flat[:shown].tolist()]
    if flat.size > shown:
        parts.append("…")
    return "(" + ", ".join(parts) + ")"

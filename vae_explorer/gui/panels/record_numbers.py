"""Numbers read from a checkpoint's history records, which may hold anything."""

from __future__ import annotations

import math


def finite_number(value: object) -> float | None:
    """``value`` as a finite float, or None (a string, a bool, NaN, infinity, an int too
    large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        v = float(value)
    except OverflowError:  # a huge int
        return None
    return v if math.isfinite(v) else None

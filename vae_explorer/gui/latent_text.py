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


def salient_text(values: Iterable[float] | np.ndarray, shown: int = 3) -> str:
    """A code of more than ``shown`` dimensions by its largest coordinates, named:
    (z[8] +2.10, z[9] +2.10, others 0) or (z[8] +2.10, z[2] −0.31, z[9] +2.10, …), in the
    order of the dimensions; the first few (:func:`vector_text`) could all be 0 while the
    point lay far out on the two shown (z[8], z[9] of a 10-d model)."""
    flat = np.asarray(values, np.float64).reshape(-1)
    size = np.abs(flat)
    if flat.size <= shown or not np.isfinite(size).all() or not size.any():
        return vector_text(flat, shown)
    top = np.sort(np.argsort(-size, kind="stable")[: min(shown, int(np.count_nonzero(size)))])
    rest = np.delete(flat, top)
    parts = [f"z[{i}] {coordinate_text(float(flat[i]))}" for i in top.tolist()]
    parts.append("others 0" if not rest.any() else "…")
    return "(" + ", ".join(parts) + ")"

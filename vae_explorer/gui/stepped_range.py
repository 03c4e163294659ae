"""View ranges that follow live data in steps, not with every change.

pyqtgraph's auto-range moves a plot's range with every point a run appends (the curves)
or every snapshot (the latent scatter), and every range change makes each axis lay out
and draw its ticks and grid again: most of such a paint while training, and the event
loop's longest waits. Here a range stays put while the data stay comfortably inside it
and steps (with room to grow) only when they leave it or shrink to under half of it, so
most paints reuse the axes' cached pictures.
"""

from __future__ import annotations

import math

import numpy as np

# The x range's upper end steps along 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k: a curve always fills
# at least two thirds of the width it grows into.
_LADDER = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
Y_PAD = 0.1  # room above and below the data, as a share of their span
GROW_PAD = 0.4  # the room on a side the data left the range by
MIN_FILL = 0.5  # data filling less than this share of the range make it step in
MIN_SPAN = 0.1  # the least span, as a share of the values' size (a flat curve gets a band)


def nice_ceiling(value: float) -> float:
    """The smallest number on the ladder that is >= ``value`` (> 0)."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    for step in _LADDER:
        if step * scale >= value * (1 - 1e-12):
            return step * scale if math.isfinite(step * scale) else value
    return 10.0 * scale


def growing_range(
    current: tuple[float, float] | None, x_max: float, least: float = 0.0
) -> tuple[float, float] | None:
    """[0, a ladder number >= ``least``] holding ``x_max``; None when ``current`` already
    fits it. (The curves ask for at least one epoch: a run's first epoch then draws into a
    fixed frame, as a progress bar fills, instead of stepping a dozen times.)"""
    upper = max(nice_ceiling(x_max), least)
    if current is not None and current[0] == 0.0 and math.isclose(current[1], upper):
        return None
    return 0.0, upper


def stepped_range(
    current: tuple[float, float] | None,
    values: np.ndarray,
    grow_pad: float = GROW_PAD,
    min_fill: float = MIN_FILL,
    divisions: int = 4,
) -> tuple[float, float] | None:
    """A range holding the finite ``values`` with room to spare; None while ``current``
    still holds them and they fill at least ``min_fill`` of it. ``grow_pad``: the room
    added on a side the values left the range by (a share of their span); the ends are
    multiples of a round step about 1 / ``divisions`` of the span."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    # At least a tenth of the values' size: a flat curve (or the first points of a run, the
    # loss and reconstruction a KL of 0.02 apart) gets a band, not a view of its rounding.
    span = max(hi - lo, MIN_SPAN * max(abs(lo), abs(hi), 1.0))
    below = above = Y_PAD
    if current is not None:
        c_lo, c_hi = current
        if c_lo <= lo and hi <= c_hi and span >= min_fill * (c_hi - c_lo):
            return None
        # Data still moving the way they left: room for them to go on (a falling loss
        # would otherwise step the range with every few new lows).
        below = max(grow_pad, Y_PAD) if lo < c_lo else Y_PAD
        above = max(grow_pad, Y_PAD) if hi > c_hi else Y_PAD
    mid = (lo + hi) / 2  # data narrower than the span sit in its middle
    lo, hi = min(lo, mid - span / 2), max(hi, mid + span / 2)
    step = nice_ceiling(span / divisions)
    ends = (lo - below * span) / step, (hi + above * span) / step
    if not all(math.isfinite(e) for e in ends):  # values near float's end (a file's 1e308)
        return None
    return math.floor(ends[0]) * step, math.ceil(ends[1]) * step

"""Where an M1+M2 run's M2 starts, on the training curves: a dashed vertical line across the
plots at the end of M1's epochs, labelled "M2 starts" in the loss plot. Left of it the
curves are M1's (the VAE under M2: loss, reconstruction, KL over the pixels), right of it
M2's (on M1's latents: another loss, on another scale), hence the step down at the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt

from .record_numbers import finite_number

LABEL = "M2 starts"
COLOR = "#c9a0dc"
TOOLTIP = (
    "M1+M2: left of the line M1 (the VAE under M2) trains on the pixels; right of it M2 "
    "trains on M1's latents, a loss on another scale"
)


class PhaseMarker:
    """One line per plot (the first plot's labelled), hidden until :meth:`set_at`."""

    def __init__(self, plots: Sequence[pg.PlotItem]) -> None:
        pen = pg.mkPen(COLOR, width=1.5, style=Qt.PenStyle.DashLine)
        self.lines: list[pg.InfiniteLine] = []
        for i, plot in enumerate(plots):
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=pen,
                label=LABEL if i == 0 else None,
                labelOpts={"position": 0.92, "color": COLOR, "anchors": [(1.05, 0.5), (1.05, 0.5)]},
            )  # fmt: skip
            line.setToolTip(TOOLTIP)
            line.setZValue(-5)  # under the curves
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self.at: float | None = None

    def set_at(self, epoch: float | None) -> None:
        """Put the line after ``epoch`` epochs (M1's); None: no line."""
        self.at = epoch
        for line in self.lines:
            if epoch is not None:
                line.setValue(epoch)
            line.setVisible(epoch is not None)


def m2_start(history: Iterable[Any]) -> float | None:
    """Where M2 starts in a labelled run's history: after the last of its M1 records
    ("phase": "m1"), when M2 records follow them; None for a history without both."""
    records = [r for r in history if isinstance(r, dict)]
    epochs = [r.get("epoch") for r in records if r.get("phase") == "m1"]
    m1 = [e for e in map(finite_number, epochs) if e is not None]
    has_m2 = any(r.get("phase") == "m2" for r in records)
    return max(m1) if m1 and has_m2 else None

"""Which latent dimensions the model uses: KL per dimension as bars, and the active count.

A dimension is active (Burda et al. 2016) when its posterior mean varies across the test
images: Cov_x(E_q[z_i|x]) > 0.01. Inactive dimensions have a KL near 0 (posterior
collapse: raise beta and watch them go grey). Computed from the test latents alone, so
it follows a training run live, and the timeline's scrubbed epoch when there is one.
While training, a panel that is not on screen (its tab behind another) skips the live
redraws and catches up when it comes up; a model opened, or a run's end, redraws at once.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.active_units import ACTIVITY_THRESHOLD, ActiveUnits, active_units
from ..history_scrub import HistoryScrub
from ..on_screen import RefreshWhenShown
from ..own_turn import in_own_turn
from ..state import ExplorerState

ACTIVE_COLOUR = "#4e79a7"
INACTIVE_COLOUR = "#bab0ac"
LIVE_MS = 250  # while training, the bars follow the snapshots at most this often
LABELLED_AXIS_HEIGHT = 140  # pixels of plot from which the bottom axis has room for its title
EVERY_LABEL_UP_TO = 32  # dimensions: up to this many, every bar is labelled if they fit
MAX_SPARSE_LABELS = 8  # a subset of labels: at most this many
TICK_GAP = 4  # pixels between two dimension labels


def dimension_ticks(d: int, bar_px: float, label_px: float) -> list[tuple[int, str]]:
    """The labelled dimensions of ``d`` bars ``bar_px`` pixels apart whose widest label is
    ``label_px`` wide: every bar (up to :data:`EVERY_LABEL_UP_TO` bars) when the labels fit
    side by side, else every 2nd, 5th, 10th, 20th, ... from 0, the first such that they fit
    and are at most :data:`MAX_SPARSE_LABELS`."""
    need = label_px + TICK_GAP
    if d <= EVERY_LABEL_UP_TO and bar_px >= need:
        return [(i, str(i)) for i in range(d)]
    steps = (k * 10**e for e in range(len(str(max(d, 1))) + 1) for k in (1, 2, 5))
    step = next(
        k for k in steps if k > 1 and (k >= d or (k * bar_px >= need and -(-d // k) <= MAX_SPARSE_LABELS))
    )
    return [(i, str(i)) for i in range(0, d, step)]


class ActiveUnitsPanel(QWidget):
    """KL per dimension (bars: blue active, grey inactive) and "Active units: k / d"."""

    def __init__(
        self, state: ExplorerState, scrub: HistoryScrub | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._scrub = scrub
        self.units: ActiveUnits | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip(
            f"A dimension is active (a blue bar) when its posterior mean varies across the test "
            f"images: Cov_x(E_q[z_i|x]) > {ACTIVITY_THRESHOLD} (Burda et al. 2016). Inactive ones "
            "(grey) carry no information about the image (posterior collapse). The bars: each "
            "dimension's KL(q(z_i|x) || p(z_i)), averaged over the test images."
        )
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("left", "KL (nats)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # not "KL (nats) (x0.001)"
        self.plot.setLabel("bottom", "latent dimension")
        self.plot.setMinimumHeight(80)  # the bottom row must leave the window 700 px tall
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.plot.addItem(self.bars)
        # The dimension labels follow the plot's width (every bar when they fit).
        self.plot.getPlotItem().vb.sigResized.connect(self._fit_ticks)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.plot, 1)
        self._when_shown = RefreshWhenShown(self, self.refresh)
        self._refresh_live = qthrottled(lambda: in_own_turn(self, self._when_shown.request), timeout=LIVE_MS)
        state.latentsChanged.connect(self._on_latents_changed)
        state.datasetChanged.connect(self._on_latents_changed)
        if scrub is not None:
            scrub.epochChanged.connect(self.refresh)
        self.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        # In a short dock (1024 x 700) "latent dimension" under the ticks was cut in half:
        # the ticks alone then (the summary above says what the bars are).
        tall = self.plot.height() >= LABELLED_AXIS_HEIGHT
        if self.plot.getAxis("bottom").label.isVisible() != tall:
            self.plot.getAxis("bottom").showLabel(tall)

    def refresh(self) -> None:
        mu_logvar = self._latents()
        if mu_logvar is None:
            self.units = None
            self.bars.setOpts(x=[], height=[], brushes=[])
            self.summary.setText("No test latents yet (choose a dataset or a model)")
            return
        mu, logvar = mu_logvar
        units = active_units(mu, logvar)
        self.units = units
        d = len(units.kl_per_dim)
        colours = [pg.mkBrush(ACTIVE_COLOUR if a else INACTIVE_COLOUR) for a in units.active]
        kl = units.kl_per_dim
        finite = np.isfinite(kl)  # a diverged model's variance can overflow to an infinite KL
        top = max(float(kl[finite].max()) if finite.any() else 0.0, 1e-3) * 1.08
        heights = np.where(finite, kl, top)  # (an infinite one fills its bar)
        self.bars.setOpts(x=np.arange(d), height=heights, width=0.8, brushes=colours)
        self.plot.setXRange(-0.6, d - 0.4, padding=0)
        self.plot.setYRange(0, top, padding=0)
        self._fit_ticks()
        when = ""
        if self._scrub is not None and self._scrub.epoch is not None:
            when = f" at epoch {self._scrub.epoch:.1f}"
        self.summary.setText(
            f"Active units{when}: {units.count} / {d} (blue) · KL {units.total_kl:.2f} nats in all"
        )

    def _fit_ticks(self) -> None:
        """Label every bar the plot's width has room for (a 10-d model's odd ones were bare)."""
        d = 0 if self.units is None else len(self.units.kl_per_dim)
        axis = self.plot.getAxis("bottom")
        font = axis.style.get("tickFont") or axis.font()
        label_px = QFontMetrics(font).horizontalAdvance(str(max(d - 1, 0)))
        bar_px = self.plot.getPlotItem().vb.width() / (d + 0.2) if d else 0.0  # (x from -0.6 to d - 0.4)
        ticks = dimension_ticks(d, bar_px, label_px)
        axis.setTicks([ticks])

    def _latents(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self._scrub is not None:
            scrubbed = self._scrub.latents()
            if scrubbed is not None:
                return scrubbed.mu, scrubbed.logvar
        latents = self._state.latents
        if latents is None or len(latents[0]) < 2:
            return None
        return latents

    def _on_latents_changed(self) -> None:
        if self._state.live:
            self._refresh_live()
        else:
            self._refresh_live.cancel()
            self._when_shown.cancel()
            self.refresh()

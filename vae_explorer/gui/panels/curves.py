"""Live training curves: per-batch loss / reconstruction / KL and the per-epoch test -ELBO;
for a labelled model (M2, M1+M2) also the per-epoch test error of its classifier, in a third
plot that shows only when there is such a curve.

Points are appended to growing numpy buffers as events arrive; a throttled redraw runs at
most 10 times a second, whatever the event rate (the first point of a burst at once). The
plots follow the run in steps (:mod:`..stepped_range`), not with each point: a range change
redraws every axis, the dearest part of a paint; their scale leaves out a run's first batches
(the first 5% of its epochs). A user's zoom or pan stops the following until a double-click
or the next run. An M1+M2 run's curves mark where M2 starts (:mod:`.phase_marker`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QToolButton, QWidget
from superqt.utils import qthrottled

from ...core.rendering import ema_smooth
from ..stepped_range import growing_range, stepped_range
from .phase_marker import PhaseMarker, m2_start
from .record_numbers import finite_number

REDRAW_MS = 100  # at most 10 redraws a second, whatever the event rate

SERIES = {
    # name: (plot, colour, legend text)
    # Short: two legend columns must fit the training dock's narrowest width (330 px).
    "loss": ("nats", "#e0e0e0", "train loss"),
    "recon": ("nats", "#4e79a7", "reconstruction"),
    "test": ("nats", "#f28e2b", "test −ELBO"),
    "kl": ("kl", "#59a14f", "KL"),
    "error": ("error", "#e15759", "test error %"),
}


class _Series:
    def __init__(self) -> None:
        self.x = np.zeros(256)
        self.y = np.zeros(256)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == self.x.size:
            self.x = np.concatenate([self.x, np.zeros_like(self.x)])
            self.y = np.concatenate([self.y, np.zeros_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1


MIN_HEIGHT = 260
THIRD_PLOT = 40  # px more for the test error plot


class TrainingCurves(pg.GraphicsLayoutWidget):
    """Two stacked plots sharing the epoch axis: nats (loss, recon, test) and KL."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Legend rows plus each plot's axes need ~200 px before a curve has room to show; in
        # a short window the training dock scrolls rather than squashing the plots flat.
        self.setMinimumHeight(MIN_HEIGHT)
        # The legend sits in its own row above the plots, so it never covers a curve,
        # however small the dock.
        self.legend = pg.LegendItem(colCount=2, labelTextColor="#ddd", horSpacing=12, verSpacing=-6)
        self.addItem(self.legend, row=0, col=0)
        self.nats_plot = self.addPlot(row=1, col=0)
        self.kl_plot = self.addPlot(row=2, col=0)
        self.error_plot = self.addPlot(row=3, col=0)
        self.kl_plot.setXLink(self.nats_plot)
        self.error_plot.setXLink(self.nats_plot)
        # (The error plot's label is short: with three plots it has a third of the height.)
        self.axis_labels = {
            self.nats_plot: "nats / image", self.kl_plot: "KL (nats)", self.error_plot: "error (%)"
        }  # fmt: skip
        for plot, label in self.axis_labels.items():
            plot.setLabel("left", label)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.disableAutoRange()
            plot.vb.sigRangeChangedManually.connect(self._stop_following)
            # A plot's height changes without the widget's too (a plot shown or hidden, the
            # legend's rows): its label is fitted again each time.
            # (A bound method, not a lambda: Qt drops the connection with the widget, where a
            # lambda was called on a deleted widget at the interpreter's exit: a crash.)
            plot.vb.sigResized.connect(self._on_view_resized)
            for axis in ("left", "bottom"):
                # Epochs below 1 would read "epoch (x0.001)" with ticks 200...600.
                plot.getAxis(axis).enableAutoSIPrefix(False)
                # Between range steps a paint blits the axis instead of replaying its ticks.
                plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.data = {name: _Series() for name in SERIES}
        self.items: dict[str, pg.PlotDataItem] = {}
        for name, (which, color, _text) in SERIES.items():
            plot = {"nats": self.nats_plot, "kl": self.kl_plot, "error": self.error_plot}[which]
            if name in ("test", "error"):
                item = plot.plot(
                    pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6, symbolBrush=color, symbolPen=None
                )
            else:
                item = plot.plot(pen=pg.mkPen(color, width=1.5))
            item.setClipToView(True)
            self.items[name] = item
        self.phases = PhaseMarker((self.nats_plot, self.kl_plot, self.error_plot))
        self.per_batch = True  # the loss / recon / KL series hold per-batch points
        self._arranged: tuple[bool, bool] | None = None  # (KL plot, error plot) as shown
        self._arrange_plots()
        self._legend_names: list[str] = []
        self._legend_m1m2 = False
        self.smoothing = 0.0
        self.labelled = False
        self.redraws = 0
        self.following = True
        self._sync_legend()
        self._ranges: dict[object, tuple[float, float]] = {}  # as last set, per plot and "x"
        self.setToolTip(
            "train loss: each batch's −ELBO with the KL weighted by β; test −ELBO and test error: "
            "after every epoch.\nScroll to zoom, drag to pan; double-click to follow the run again"
        )
        # Shown while a zoom or pan keeps the plots still, so a frozen curve never passes
        # for a stalled run.
        self.follow_button = QToolButton(self)
        self.follow_button.setText("Follow run")
        self.follow_button.setToolTip("Fit the curves to the data again and follow the run (or double-click)")
        self.follow_button.clicked.connect(self.follow)
        self.follow_button.hide()
        self._redraw_later = qthrottled(
            self._redraw, timeout=REDRAW_MS, timer_type=Qt.TimerType.CoarseTimer, parent=self
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        # Not while pyqtgraph's own __init__ runs, nor once close() has dropped the scene.
        if hasattr(self, "axis_labels") and not self.closed:
            self._fit_axis_labels()
            self._place_follow_button()

    def _place_follow_button(self) -> None:
        b = self.follow_button
        b.adjustSize()
        b.move(self.width() - b.width() - 6, 4)

    def _fit_axis_labels(self) -> None:
        """A rotated axis label longer than its plot is tall would run into the other
        plot's: in a short dock it is hidden (the legend still names the curves)."""
        self.ci.layout.activate()
        for plot in self.axis_labels:
            self._fit_axis_label(plot)

    def _on_view_resized(self, vb: pg.ViewBox) -> None:
        for plot in self.axis_labels:
            if plot.vb is vb:
                self._fit_axis_label(plot)

    def _fit_axis_label(self, plot: pg.PlotItem) -> None:
        if self.closed:
            return
        axis = plot.getAxis("left")
        fits = plot.vb.height() >= QFontMetricsF(self.font()).horizontalAdvance(self.axis_labels[plot]) + 6
        if fits != axis.label.isVisible():
            axis.showLabel(fits)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        super().mouseDoubleClickEvent(event)
        self.follow()
        event.accept()

    def follow(self) -> None:
        """Fit the plots to the data again and keep following the run."""
        self.following = True
        self.follow_button.hide()
        self._ranges.clear()
        self.redraw()

    def _stop_following(self, *_: object) -> None:
        self.following = False
        self._place_follow_button()
        self.follow_button.show()
        self.follow_button.raise_()

    def set_labelled(self, labelled: bool) -> None:
        """Name the second series for the run's model: a labelled model's (M2) batch
        metrics carry the labelled images' -ELBO where a VAE's carry the reconstruction."""
        self.labelled = labelled
        self._legend_names = []  # (named anew)
        self._sync_legend()

    def _sync_legend(self) -> None:
        """The legend names what can be drawn: during a run every batch series and the test
        -ELBO to come; for a loaded history only the series it holds (a labelled model's has
        no per-epoch reconstruction or KL); the test error while its plot shows (in a short
        dock that plot's axis label is hidden)."""
        names = [name for name in SERIES if name != "error"]
        m1m2 = self.phases.at is not None
        if not self.per_batch:
            names = [name for name in names if self.data[name].n]
        if self.data["error"].n:
            names.append("error")
        if names == self._legend_names and m1m2 == self._legend_m1m2:
            return
        self.legend.clear()
        for name in names:
            text = "labelled −ELBO" if name == "recon" and self.labelled else SERIES[name][2]
            if name == "recon" and m1m2 and self.per_batch:  # M1's, then M2's
                text = "recon / labelled"
            self.legend.addItem(self.items[name], text)
        self._legend_names, self._legend_m1m2 = names, m1m2

    def set_m2_start(self, epoch: float | None) -> None:
        """An M1+M2 run: mark where M2 starts, after ``epoch`` epochs of M1; None: no mark."""
        self.phases.set_at(epoch)
        self._sync_legend()

    def clear_data(self) -> None:
        self.data = {name: _Series() for name in SERIES}
        self.phases.set_at(None)  # (a run's own comes with its start)
        self.per_batch = True  # a run's curves come next
        self.follow()

    def is_empty(self) -> bool:
        return all(series.n == 0 for series in self.data.values())

    def add_batch(self, x: float, loss: float, recon: float, kl: float) -> None:
        self.data["loss"].append(x, loss)
        self.data["recon"].append(x, recon)
        self.data["kl"].append(x, kl)
        self._redraw_later()

    def add_test(self, epoch: float, neg_elbo: float) -> None:
        self.data["test"].append(epoch, neg_elbo)
        self._redraw_later()

    def set_test_errors(self, history: list[dict[str, Any]]) -> None:
        """The test error curve from a labelled run's history records ("test_error", a
        fraction; records without one, such as M1's epochs, are skipped)."""
        errors = _Series()
        for rec in history:
            if not isinstance(rec, dict):
                continue
            e, v = finite_number(rec.get("epoch")), finite_number(rec.get("test_error"))
            if e is not None and v is not None:
                errors.append(e, 100.0 * v)
        old = self.data["error"]
        self.data["error"] = errors
        n = errors.n
        pairs = ((old.x, errors.x), (old.y, errors.y))
        # Every snapshot of a run asks, a VAE's with no errors at all: redraw on a change only.
        if old.n != n or not all(np.array_equal(a[:n], b[:n]) for a, b in pairs):
            self._redraw_later()

    def _arrange_plots(self) -> None:
        """Show the plots that have something to draw: the KL plot during a run or for a
        history that holds KL values (a labelled model's has none), the test error plot once
        there are errors; only the lowest shown plot carries the shared epoch axis."""
        shown = (self.per_batch or self.data["kl"].n > 0, self.data["error"].n > 0)
        if shown == self._arranged:
            return
        self._arranged = shown
        three = all(shown)
        # Three plots need more room; not so much that the end of a labelled run (its error
        # plot showing) makes the training dock scroll at 1400 x 900: the margins narrow
        # instead and the shares follow what each plot's axis label needs (the lowest also
        # holds the epoch axis), so that all three labels show there.
        stretch = (6, 3, 4) if three else (3, 2 * shown[0], 2 * shown[1])
        for row, plot, on in ((2, self.kl_plot, shown[0]), (3, self.error_plot, shown[1])):
            plot.setVisible(on)
            self.ci.layout.setRowMaximumHeight(row, 1e6 if on else 0)
        for row, share in enumerate(stretch, start=1):
            self.ci.layout.setRowStretchFactor(row, share)
        self.setMinimumHeight(MIN_HEIGHT + THIRD_PLOT if three else MIN_HEIGHT)
        margin = 1 if three else 9  # (above and below the legend and the plots)
        self.legend.layout.setContentsMargins(9, margin, 9, margin)
        self.legend.updateSize()
        self.ci.layout.setContentsMargins(9, margin, 9, margin)
        self.ci.layout.setVerticalSpacing(1 if three else 6)
        plots = (self.nats_plot, self.kl_plot, self.error_plot)
        lowest = [plot for plot, on in zip(plots, (True, *shown), strict=True) if on][-1]
        for plot in plots:
            plot.showAxis("bottom", plot is lowest)
            plot.setLabel("bottom", "epoch" if plot is lowest else "")
            plot.showAxis("bottom", plot is lowest)  # (setting a label shows the axis)

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        self._redraw_later()

    def set_history(self, history: list[dict[str, Any]]) -> None:
        """Show a loaded model's per-epoch history (train loss, test -ELBO, KL)."""
        self.data = {name: _Series() for name in SERIES}
        for rec in history:
            if not isinstance(rec, dict):  # the history comes from a file: skip what is odd
                continue
            e = finite_number(rec.get("epoch", 0))
            if e is None:
                continue
            for name, key in (("loss", "train_loss"), ("recon", "train_recon"), ("kl", "train_kl")):
                v = finite_number(rec.get(key))
                if v is not None:
                    self.data[name].append(e, v)
            v = finite_number(rec.get("test_elbo"))
            if v is not None:
                self.data["test"].append(e, -v)
            v = finite_number(rec.get("test_error"))
            if v is not None:
                self.data["error"].append(e, 100.0 * v)
        self.per_batch = False  # per-epoch averages: no first batches to leave out
        self.phases.set_at(m2_start(history))
        self.follow()

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The raw (unsmoothed) data of a series, for tests."""
        s = self.data[name]
        return s.x[: s.n].copy(), s.y[: s.n].copy()

    def redraw(self) -> None:
        """Draw the data now (and drop a pending throttled redraw)."""
        self._redraw_later.cancel()
        self._redraw()

    def _redraw(self) -> None:
        self.redraws += 1
        drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, item in self.items.items():
            s = self.data[name]
            x, y = s.x[: s.n], s.y[: s.n]
            if self.smoothing > 0 and name not in ("test", "error"):
                y = ema_smooth(y, self.smoothing)
            item.setData(x, y)
            drawn[name] = (x, y)
        self._arrange_plots()
        self._sync_legend()
        if self.following:
            self._fit_ranges(drawn)

    def _fit_ranges(self, drawn: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Set the ranges, only on a step, as the code's own change (not the user's). A
        plot with nothing to draw yet (a new run, a model without a history) gets [0, 1]:
        nothing of the last model's scale stays on show."""
        xs = [x for x, _ in drawn.values() if x.size]
        plots = {"nats": self.nats_plot, "kl": self.kl_plot, "error": self.error_plot}
        if not xs:
            new_x = None if "x" in self._ranges else (0.0, 1.0)
        else:
            new_x = growing_range(self._ranges.get("x"), max(float(np.nanmax(x)) for x in xs), least=1.0)
        if new_x is not None:
            self._ranges["x"] = new_x
            self.nats_plot.setXRange(*new_x, padding=0)  # the other plots are linked to it
        for which, plot in plots.items():
            ys = [
                _scaling_values(name, *drawn[name], self.per_batch)
                for name, spec in SERIES.items()
                if spec[0] == which
            ]
            values = np.concatenate(ys)
            if values.size:
                new_y = stepped_range(self._ranges.get(plot), values)
            else:
                new_y = None if plot in self._ranges else (0.0, 1.0)
            if new_y is not None:
                self._ranges[plot] = new_y
                plot.setYRange(*new_y, padding=0)


START_SHARE = 0.05  # of a curve's epochs, at its start, left out of its scale


def _scaling_values(name: str, x: np.ndarray, y: np.ndarray, per_batch: bool) -> np.ndarray:
    """What a series' y range must hold. A per-batch curve leaves out the first 5% of its
    epochs (once past one epoch; as TensorBoard's "ignore outliers" would): a run's first
    batches, several times the loss of the rest, would otherwise flatten the curve for
    good. Per-epoch points (test -ELBO, test error, a loaded model's history) all count."""
    keep = np.isfinite(y)
    if per_batch and name not in ("test", "error") and x.size and x[-1] > 1.0:
        later = keep & (x >= START_SHARE * x[-1])
        keep = later if later.sum() >= 5 else keep
    return y[keep]

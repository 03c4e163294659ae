"""The posterior view's pictures: the latent plane (the true posterior as a heat map with
mass contours, the encoder's q and the best Gaussian q* as ellipses, the posterior mean,
importance draws sized by weight) and a small plot of the IWAE bound against K.

Display only: every number comes from a :class:`PosteriorResult` that core computed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .posterior_job import (
    CONTOUR_MASSES,
    PosteriorRequest,
    PosteriorResult,
    density_image,
    gaussian_ellipse,
    run_request,
    view_box,
)

HEAT_MAP = "inferno"
Q_COLOUR = "#4fc3f7"  # the encoder's q(z|x)
QSTAR_COLOUR = "#9ccc65"  # the best Gaussian q*
MEAN_COLOUR = "#ffffff"
CONTOUR_COLOUR = (220, 220, 220, 170)
DRAW_COLOUR = (255, 255, 255, 150)
LOG_PX_COLOUR = "#f28e2b"
IWAE_MAX_HEIGHT = 130  # pixels: the IWAE plot stays small; the latent plane takes the rest
IWAE_MIN_HEIGHT = 60
IWAE_SHARE = 0.25  # of the plots' height, between the two limits above
MIN_HEIGHT = 120
MAX_DRAW_SIZE = 14.0  # pixels, for the heaviest importance draw


def _plain(plot: pg.PlotItem) -> None:
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)  # latent units, never "(x0.001)"


class PosteriorPlot(QWidget):
    """The latent plane (top), the IWAE-vs-K plot (below it, optional) and a legend that
    wraps to the dock's width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.latent = self.view.addPlot(row=0, col=0)
        _plain(self.latent)
        self.latent.setAspectLocked(True)
        self.latent.setLabel("bottom", "z[0]")  # (as the scatter names them)
        self.latent.setLabel("left", "z[1]")
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(pg.colormap.get(HEAT_MAP))
        self.heatmap.setZValue(-10)
        self.latent.addItem(self.heatmap)
        self.contours = [
            self.latent.plot(pen=pg.mkPen(CONTOUR_COLOUR, width=1), connect="finite") for _ in CONTOUR_MASSES
        ]
        dash = Qt.PenStyle.DashLine
        self.q_items = [
            self.latent.plot(pen=pg.mkPen(Q_COLOUR, width=2)),
            self.latent.plot(pen=pg.mkPen(Q_COLOUR, width=1.5, style=dash)),
        ]
        self.qstar_items = [
            self.latent.plot(pen=pg.mkPen(QSTAR_COLOUR, width=2)),
            self.latent.plot(pen=pg.mkPen(QSTAR_COLOUR, width=1.5, style=dash)),
        ]
        self.mean_item = pg.ScatterPlotItem(
            size=13, symbol="+", pen=pg.mkPen(MEAN_COLOUR, width=2), brush=pg.mkBrush(MEAN_COLOUR)
        )
        self.draws_item = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(*DRAW_COLOUR))
        self.latent.addItem(self.draws_item)
        self.latent.addItem(self.mean_item)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.legend)

        self.iwae = self.view.addPlot(row=1, col=0)
        _plain(self.iwae)
        self.iwae.setLogMode(x=True, y=False)
        self.iwae.setLabel("left", "nats")
        # No title or x label (they would take half of this small plot): the legend names
        # both lines and K.
        self.iwae_curve = self.iwae.plot(
            pen=pg.mkPen(Q_COLOUR, width=2), symbol="o", symbolSize=5, symbolBrush=Q_COLOUR, symbolPen=None
        )
        self.log_px_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(LOG_PX_COLOUR, width=1.5, style=dash))
        self.iwae.addItem(self.log_px_line)
        self.view.ci.layout.setRowStretchFactor(0, 5)
        self._iwae_on = False
        self.show_iwae(False)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Ask only for the minimum: the panel's numbers come first, the plot takes the rest
        (its stretch)."""
        return QSize(260, self.view.minimumHeight() + self.legend.sizeHint().height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False  # the wrapping legend must not make the plot claim its full height

    def show_iwae(self, on: bool) -> None:
        """Show the IWAE plot and the draws in the legend (importance sampling on). When
        off, the plot's row collapses, so the latent plane gets all the room. (The plot
        stays in the layout: taken out of the scene, its axes and view box are left to the
        garbage collector, which can delete them while its layout still uses them, and
        that crashed the process.)"""
        if on == self._iwae_on and self.iwae.isVisible() == on:
            return  # (asked on every model change: the legend's HTML alone takes ms)
        self._iwae_on = on
        self.iwae.setVisible(on)
        # A hidden item keeps its minimum height in a graphics layout: zero it while off
        # (-1 gives back the plot's own minimum).
        self.iwae.setMinimumHeight(-1 if on else 0)
        self.view.setMinimumHeight(MIN_HEIGHT + (IWAE_MIN_HEIGHT if on else 0))
        self.legend.setText(legend_html(on))
        self._size_rows()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._size_rows()

    def _size_rows(self) -> None:
        """The IWAE plot gets a fixed share of the height, capped (none while off); the
        plane the rest."""
        share = int(IWAE_SHARE * self.view.height())
        height = max(IWAE_MIN_HEIGHT, min(IWAE_MAX_HEIGHT, share)) if self._iwae_on else 0
        self.view.ci.layout.setRowFixedHeight(1, height)

    # --- drawing --------------------------------------------------------------------------
    def show_nothing(self) -> None:
        """Nothing on show (no source, a wrong model, an error): no leftover picture."""
        self.heatmap.clear()
        for c in self.contours:
            c.setData([], [])
        for item in (*self.q_items, *self.qstar_items, self.iwae_curve):
            item.setData([], [])
        self.mean_item.setData([], [])
        self.draws_item.setData([], [])
        self.log_px_line.setVisible(False)

    def show_result(self, result: PosteriorResult) -> None:
        """Draw ``result`` (its posterior must be set)."""
        post = result.posterior
        if post is None:
            self.show_nothing()
            return
        xs, ys = (np.asarray(a, np.float64) for a in post.z_axes)
        image = result.density if result.density is not None else density_image(post.log_density)
        self.heatmap.setImage(image, levels=(0.0, 1.0), autoLevels=False)
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.heatmap.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        for item, (cx, cy) in zip(
            self.contours, result.contours or [([], [])] * len(self.contours), strict=True
        ):
            item.setData(cx, cy)
        for items, gauss in ((self.q_items, result.encoder_q), (self.qstar_items, result.best_q)):
            for n_sigma, item in enumerate(items, start=1):
                if gauss is None:
                    item.setData([], [])
                else:
                    item.setData(*gaussian_ellipse(gauss.mean, gauss.cov, n_sigma))
        mean = np.asarray(post.mean, np.float64).reshape(-1)
        self.mean_item.setData([mean[0]], [mean[1]])
        if result.draws is not None and result.weights is not None and len(result.weights):
            w = result.weights / max(float(np.max(result.weights)), 1e-300)
            self.draws_item.setData(
                result.draws[:, 0], result.draws[:, 1], size=2.0 + (MAX_DRAW_SIZE - 2.0) * np.sqrt(w)
            )
        else:
            self.draws_item.setData([], [])
        if result.iwae_ks is not None and result.iwae_bounds is not None:
            self.iwae_curve.setData(result.iwae_ks, result.iwae_bounds)
            self.log_px_line.setPos(float(post.log_px))
            self.log_px_line.setVisible(True)
            lo = float(min(np.min(result.iwae_bounds), post.log_px))
            pad = max(0.08 * (float(post.log_px) - lo), 0.05)
            self.iwae.setYRange(lo - pad, float(post.log_px) + pad, padding=0)
            self.iwae.setXRange(0, np.log10(max(result.iwae_ks)), padding=0.03)
        else:
            self.iwae_curve.setData([], [])
            self.log_px_line.setVisible(False)
        x0, x1, y0, y1 = result.box if result.box is not None else view_box(result)
        self.latent.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)


def legend_html(draws: bool) -> str:
    """The legend as a line of coloured symbols that wraps between entries (never inside
    one), so it takes two short lines in a narrow dock."""
    heat = pg.colormap.get(HEAT_MAP).map(0.75, "qcolor").name()
    entries = [
        (heat, "■", "true posterior p(z|x)"),
        ("#9e9e9e", "—", "its 50% / 90% mass"),
        (Q_COLOUR, "◯", "encoder q(z|x) 1σ, 2σ"),
        (QSTAR_COLOUR, "◯", "best Gaussian q*"),
        (None, "+", "mean"),
    ]
    if draws:
        entries.append((None, "●", "draws from q, size = weight"))
        entries.append((Q_COLOUR, "—", "IWAE bound vs K draws"))
        entries.append((LOG_PX_COLOUR, "╌", "log p(x)"))
    cells = []
    for colour, symbol, text in entries:
        style = "" if colour is None else f" style='color:{colour}'"
        # No break inside an entry: not at its spaces, nor after the "|" of q(z|x) (a break
        # opportunity of its own to Qt's line breaking), which word joiners hold in place.
        text = text.replace(" ", "&nbsp;").replace("|", "\u2060|\u2060")
        symbol = symbol.replace(" ", "&nbsp;")
        cells.append(f"<b{style}>{symbol}</b>&nbsp;{text}")
    return "<span style='font-size:small'>" + " &nbsp; ".join(cells) + "</span>"


def with_contours(result: PosteriorResult) -> PosteriorResult:
    """``result`` with its mass contours traced (pyqtgraph's marching squares, plain numpy:
    it runs on the worker thread, since tracing a 201 x 201 grid takes ~80 ms)."""
    post = result.posterior
    if post is None or result.density is None:
        return result
    xs, ys = (np.asarray(a, np.float64) for a in post.z_axes)
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
    lines = []
    for level in result.levels:
        pieces = pg.functions.isocurve(result.density.T, level, connected=True, extendToEdge=True)
        x: list[float] = []
        y: list[float] = []
        for piece in pieces:  # its points sit on cell edges: index i + 0.5 is grid point i
            a = np.asarray(piece, np.float64).reshape(-1, 2)
            x += [*(xs[0] + (a[:, 0] - 0.5) * dx), np.nan]
            y += [*(ys[0] + (a[:, 1] - 0.5) * dy), np.nan]
        lines.append((np.asarray(x), np.asarray(y)))
    return replace(result, contours=tuple(lines))


def compute(request: PosteriorRequest) -> PosteriorResult:
    """The panel's worker job: core's posterior and everything the plot draws, off the GUI
    thread."""
    return with_contours(run_request(request))

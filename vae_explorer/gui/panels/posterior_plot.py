"""The posterior view's pictures: the latent plane (the true posterior as a heat map with
mass contours, the encoder's q and the best Gaussian q* as ellipses, the posterior mean,
importance draws sized by weight) and a small plot of the IWAE bound against K.

Display only: every number comes from a :class:`PosteriorResult` that core computed.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QWidget

from .posterior_job import CONTOUR_MASSES, PosteriorResult, density_image, gaussian_ellipse, mass_levels

HEAT_MAP = "inferno"
Q_COLOUR = "#4fc3f7"  # the encoder's q(z|x)
QSTAR_COLOUR = "#9ccc65"  # the best Gaussian q*
MEAN_COLOUR = "#ffffff"
CONTOUR_COLOUR = (220, 220, 220, 170)
DRAW_COLOUR = (255, 255, 255, 150)
LOG_PX_COLOUR = "#f28e2b"
MAX_DRAW_SIZE = 16.0  # pixels, for the heaviest importance draw


def _plain(plot: pg.PlotItem) -> None:
    plot.setMenuEnabled(False)
    plot.hideButtons()


class PosteriorPlot(pg.GraphicsLayoutWidget):
    """The latent plane (top), its legend, and the IWAE-vs-K plot (bottom, optional)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(220)
        self.latent = self.addPlot(row=0, col=0)
        _plain(self.latent)
        self.latent.setAspectLocked(True)
        self.latent.setLabel("bottom", "z₁")
        self.latent.setLabel("left", "z₂")
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(pg.colormap.get(HEAT_MAP))
        self.heatmap.setZValue(-10)
        self.latent.addItem(self.heatmap)
        self.contours = [pg.IsocurveItem(pen=pg.mkPen(CONTOUR_COLOUR, width=1), axisOrder="row-major") for _ in CONTOUR_MASSES]
        for c in self.contours:
            c.setParentItem(self.heatmap)  # shares the heat map's pixel -> latent mapping
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

        self.legend = pg.LegendItem(colCount=2, labelTextColor="#ddd", labelTextSize="8pt")
        self.addItem(self.legend, row=1, col=0)
        self._fill_legend()

        self.iwae = self.addPlot(row=2, col=0)
        _plain(self.iwae)
        self.iwae.setLogMode(x=True, y=False)
        self.iwae.setLabel("bottom", "K (draws from q)")
        self.iwae.setLabel("left", "nats")
        self.iwae.setTitle("K-sample IWAE bound vs log p(x)", size="9pt")
        self.iwae_curve = self.iwae.plot(
            pen=pg.mkPen(Q_COLOUR, width=2), symbol="o", symbolSize=5, symbolBrush=Q_COLOUR, symbolPen=None
        )
        self.log_px_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(LOG_PX_COLOUR, width=1.5, style=dash),
            label="log p(x) (grid)",
            labelOpts={"position": 0.2, "color": LOG_PX_COLOUR, "anchors": [(0, 1), (0, 1)]},
        )
        self.iwae.addItem(self.log_px_line)
        self.ci.layout.setRowStretchFactor(0, 4)
        self.ci.layout.setRowStretchFactor(2, 2)
        self.show_iwae(False)

    def _fill_legend(self) -> None:
        cmap = pg.colormap.get(HEAT_MAP)
        samples = [
            (
                pg.PlotDataItem(
                    [], [], pen=None, symbol="s", symbolBrush=cmap.map(0.8, "qcolor"), symbolPen=None
                ),
                "true posterior p(z|x)",
            ),
            (pg.PlotDataItem([], [], pen=pg.mkPen(CONTOUR_COLOUR)), "its 50% / 90% mass"),
            (pg.PlotDataItem([], [], pen=pg.mkPen(Q_COLOUR, width=2)), "encoder q(z|x) 1σ, 2σ"),
            (pg.PlotDataItem([], [], pen=pg.mkPen(QSTAR_COLOUR, width=2)), "best Gaussian q* 1σ, 2σ"),
            (
                pg.PlotDataItem([], [], pen=None, symbol="+", symbolPen=pg.mkPen(MEAN_COLOUR, width=2)),
                "posterior mean",
            ),
        ]
        self.draws_legend = pg.PlotDataItem(
            [], [], pen=None, symbol="o", symbolSize=7, symbolBrush=DRAW_COLOUR, symbolPen=None
        )
        for item, name in samples:
            self.legend.addItem(item, name)

    def show_iwae(self, on: bool) -> None:
        """Show the IWAE plot and the draws' legend entry (importance sampling on)."""
        self.iwae.setVisible(on)
        self.ci.layout.setRowStretchFactor(2, 2 if on else 0)
        self.ci.layout.setRowMaximumHeight(2, 1e6 if on else 0)
        self.legend.removeItem(self.draws_legend)
        if on:
            self.legend.addItem(self.draws_legend, "draws from q (size = weight)")

    # --- drawing --------------------------------------------------------------------------
    def clear(self) -> None:
        """Nothing on show (no source, a wrong model, an error): no leftover picture."""
        self.heatmap.clear()
        for c in self.contours:
            c.setData(None)
        for item in (*self.q_items, *self.qstar_items, self.iwae_curve):
            item.setData([], [])
        self.mean_item.setData([], [])
        self.draws_item.setData([], [])
        self.log_px_line.setVisible(False)

    def show_result(self, result: PosteriorResult) -> None:
        """Draw ``result`` (its posterior must be set)."""
        post = result.posterior
        xs, ys = (np.asarray(a, np.float64) for a in post.z_axes)
        image = density_image(post.log_density)
        self.heatmap.setImage(image, levels=(0.0, 1.0), autoLevels=False)
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.heatmap.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        for contour, level in zip(self.contours, mass_levels(post.log_density), strict=True):
            contour.setData(image)
            contour.setLevel(level)
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
        self.latent.autoRange(items=[self.heatmap])


"""The latent grid (manifold) dock: an N x N mosaic of decoded latent codes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from ..core.latent import decode_latents, gaussian_grid_axis, grid_latents, tile_images
from ..core.model import VAE
from .images import ImageCanvas

REGION_GAUSSIAN = "Gaussian quantiles (5%–95%)"
REGION_VISIBLE = "Visible range of the scatter"


class LatentGridPanel(QWidget):
    """Decodes a grid over the prior's quantiles or the scatter's visible range.

    ``latentPicked(z)`` gives the full latent code of a clicked tile.
    """

    latentPicked = Signal(object)
    gridChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(5, 30)
        self.size_spin.setValue(15)
        self.size_spin.setToolTip("Tiles per side (N x N)")
        self.region = QComboBox()
        self.region.addItems([REGION_GAUSSIAN, REGION_VISIBLE])
        self.region.setToolTip(
            "Inverse-CDF spacing gives each tile an equal share of the prior's mass "
            "(AEVB paper, Fig. 4); or follow the scatter's zoom"
        )
        self.canvas = ImageCanvas(min_side=150)
        self.canvas.setToolTip("Click a tile to send its z to the decoder preview")
        top = QHBoxLayout()
        top.addWidget(QLabel("N"))
        top.addWidget(self.size_spin)
        top.addWidget(self.region, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        self.size_spin.valueChanged.connect(self._on_size_changed)
        self.region.currentIndexChanged.connect(self._on_region_changed)
        self.canvas.clicked.connect(self._on_tile_clicked)
        self._model: VAE | None = None
        self._dims = (0, 1)
        self._visible: tuple[tuple[float, float], tuple[float, float]] = ((-3, 3), (-3, 3))
        self._z: np.ndarray | None = None
        self._xs = self._ys = np.zeros(0)
        self.mosaic: np.ndarray | None = None

    # --- inputs ----------------------------------------------------------------------------
    def set_model(self, model: VAE | None, dims: tuple[int, int] = (0, 1)) -> None:
        self._model, self._dims = model, dims
        self.refresh()

    def set_dims(self, dims: tuple[int, int]) -> None:
        self._dims = dims
        self.refresh()

    def set_visible_range(self, xr: tuple[float, float], yr: tuple[float, float]) -> None:
        self._visible = (xr, yr)
        if self.region.currentText() == REGION_VISIBLE:
            self.refresh()

    def grid_size(self) -> int:
        return self.size_spin.value()

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y values of the grid's columns and rows (rows ascending)."""
        n = self.grid_size()
        if self.region.currentText() == REGION_VISIBLE:
            (x0, x1), (y0, y1) = self._visible
            dx, dy = (x1 - x0) / n, (y1 - y0) / n  # tile centres
            return (
                np.linspace(x0 + dx / 2, x1 - dx / 2, n),
                np.linspace(y0 + dy / 2, y1 - dy / 2, n),
            )
        a = gaussian_grid_axis(n)
        return a, a.copy()

    def extent(self) -> QRectF:
        """The latent rectangle the mosaic covers (each tile centred on its z)."""
        xs, ys = self._xs, self._ys
        if xs.size < 2:
            return QRectF()
        dx, dy = (xs[-1] - xs[0]) / (len(xs) - 1), (ys[-1] - ys[0]) / (len(ys) - 1)
        return QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)

    # --- work ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-decode the N x N grid and redraw it."""
        if self._model is None:
            self.mosaic = None
            self.canvas.set_image(None)
            return
        n = self.grid_size()
        self._xs, self._ys = self.axes()
        dims = self._dims if self._model.latent_dim > 1 else (0, 0)
        self._z = grid_latents(self._xs, self._ys, self._model.latent_dim, dims)
        images = decode_latents(self._model, self._z)
        if self.mosaic is None or self.mosaic.shape != (28 * n, 28 * n):
            self.canvas.set_highlight(None)  # a new layout: the old pick means nothing
        self.mosaic = tile_images(images, n, n)
        self.canvas.set_image(self.mosaic)
        self.gridChanged.emit()

    def tile_latent(self, row: int, col: int) -> np.ndarray:
        """Full latent code of tile (row, col); row 0 is the top row."""
        if self._z is None:
            raise RuntimeError("no grid decoded yet")
        n = self.grid_size()
        return self._z[row * n + col].copy()

    # --- slots -----------------------------------------------------------------------------
    def _on_size_changed(self, _value: int) -> None:
        self.refresh()

    def _on_region_changed(self, _index: int) -> None:
        self.refresh()

    def _on_tile_clicked(self, fx: float, fy: float) -> None:
        if self._z is None:
            return
        n = self.grid_size()
        row, col = min(int(fy * n), n - 1), min(int(fx * n), n - 1)
        self.canvas.set_highlight(QRectF(col * 28, row * 28, 28, 28))
        self.latentPicked.emit(self.tile_latent(row, col))

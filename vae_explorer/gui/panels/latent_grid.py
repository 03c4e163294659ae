"""The latent grid (manifold) dock: an N x N mosaic of decoded latent codes.

The grid itself (axes, codes, mosaic) is the state's ``decoded_grid()``: decoded once per
model, dims, size and range and shared with the scatter's overlay. This dock sets the
grid's size and spacing, draws the mosaic and sends a clicked tile's code to the state.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.image import IMAGE_SIDE
from ..images import ImageCanvas
from ..state import GRID_SIZE_RANGE, ExplorerState

REGION_GAUSSIAN = "Gaussian quantiles"
REGION_VISIBLE = "Visible range"
REGION_TIPS = {
    REGION_GAUSSIAN: "Tiles at the prior's 5%–95% quantiles: each tile holds an equal share of its mass",
    REGION_VISIBLE: "Tiles over the range the latent scatter shows (follows its zoom and pan)",
}
SPACINGS = {REGION_GAUSSIAN: "gaussian", REGION_VISIBLE: "visible"}  # combo text -> state's
LIVE_REFRESH_MS = 250  # while training snapshots arrive (~4/s), redraw at most this often
FOLLOW_MS = 120  # in "visible" spacing, follow the scatter's zoom and pan at most this often


class LatentGridPanel(QWidget):
    """Decodes a grid over the prior's quantiles or the scatter's visible range; a click
    on a tile makes its code the state's current z."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.size_spin = QSpinBox()
        self.size_spin.setRange(*GRID_SIZE_RANGE)
        self.size_spin.setValue(state.grid_size)
        self.size_spin.setToolTip("Tiles per side (N x N)")
        self.region = QComboBox()
        for i, text in enumerate(SPACINGS):
            self.region.addItem(text)
            self.region.setItemData(i, REGION_TIPS[text], Qt.ItemDataRole.ToolTipRole)
        # Its minimum is a few letters (the item texts are short): never widens the dock.
        self.region.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.region.setMinimumContentsLength(8)
        self.region.setCurrentIndex(list(SPACINGS.values()).index(state.grid_spacing))
        self.region.setToolTip(
            "Where the tiles are: Gaussian quantiles (inverse-CDF spacing gives each tile an equal "
            "share of the prior's mass, AEVB paper, Fig. 4), or the scatter's visible range"
        )
        self.canvas = ImageCanvas(min_side=150)
        self.canvas.setToolTip("Click a tile to send its z to the decoder preview")
        top = QHBoxLayout()
        n_label = QLabel("N")
        n_label.setToolTip(self.size_spin.toolTip())
        top.addWidget(n_label)
        top.addWidget(self.size_spin)
        top.addWidget(self.region, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        self._refresh_later = qthrottled(self._draw, timeout=LIVE_REFRESH_MS, parent=self)
        self._follow_later = qthrottled(self._draw, timeout=FOLLOW_MS, parent=self)

        self.size_spin.valueChanged.connect(self._on_size_changed)
        self.region.currentIndexChanged.connect(self._on_region_changed)
        self.canvas.clicked.connect(self._on_tile_clicked)
        state.modelChanged.connect(self._on_model_changed)
        state.dimsChanged.connect(self._on_dims_changed)
        state.gridChanged.connect(self._on_grid_changed)
        state.visibleRangeChanged.connect(self._on_visible_range_changed)
        self.refresh()

    # --- reading ---------------------------------------------------------------------------
    def grid_size(self) -> int:
        return self._state.grid_size

    @property
    def mosaic(self) -> np.ndarray | None:
        """The decoded grid's mosaic [28 N, 28 N] (None without a model)."""
        grid = self._state.decoded_grid()
        return None if grid is None else grid.mosaic

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y values of the grid's columns and rows (rows ascending)."""
        grid = self._state.decoded_grid()
        if grid is None:
            return np.zeros(0), np.zeros(0)
        return grid.xs.copy(), grid.ys.copy()

    def extent(self) -> QRectF:
        """The latent rectangle the mosaic covers (each tile centred on its z)."""
        grid = self._state.decoded_grid()
        return QRectF() if grid is None else QRectF(*grid.extent)

    def tile_latent(self, row: int, col: int) -> np.ndarray:
        """Full latent code of tile (row, col); row 0 is the top row."""
        grid = self._state.decoded_grid()
        if grid is None:
            raise RuntimeError("no model: no grid to read")
        return grid.tile_latent(row, col)

    # --- drawing ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Draw the state's decoded grid now."""
        self._refresh_later.cancel()
        self._follow_later.cancel()
        self._draw()

    def _draw(self) -> None:
        grid = self._state.decoded_grid()
        if grid is None:
            self.canvas.set_highlight(None)
            self.canvas.set_image(None)
            return
        shown = self.canvas.image()
        if shown is None or shown.shape != grid.mosaic.shape:
            self.canvas.set_highlight(None)  # a new layout: the old pick means nothing
        self.canvas.set_image(grid.mosaic)

    def _refresh_soon(self) -> None:
        """Redraw now, or at most every LIVE_REFRESH_MS while a run streams snapshots."""
        if self._state.live:
            self._refresh_later()
        else:
            self.refresh()

    # --- slots -----------------------------------------------------------------------------
    def _on_size_changed(self, value: int) -> None:
        self._state.set_grid(size=value)

    def _on_region_changed(self, _index: int) -> None:
        self._state.set_grid(spacing=SPACINGS[self.region.currentText()])

    def _on_grid_changed(self) -> None:
        s = self._state
        with QSignalBlocker(self.size_spin), QSignalBlocker(self.region):
            self.size_spin.setValue(s.grid_size)
            self.region.setCurrentIndex(list(SPACINGS.values()).index(s.grid_spacing))
        self.canvas.set_highlight(None)  # the tiles now stand for other codes
        self.refresh()

    def _on_model_changed(self) -> None:
        self._refresh_soon()

    def _on_dims_changed(self) -> None:
        self._refresh_soon()

    def _on_visible_range_changed(self) -> None:
        if self._state.grid_spacing == "visible":
            self._follow_later()

    def _on_tile_clicked(self, fx: float, fy: float) -> None:
        grid = self._state.decoded_grid()
        if grid is None:
            return
        n = grid.size
        row, col = min(int(fy * n), n - 1), min(int(fx * n), n - 1)
        self.canvas.set_highlight(QRectF(col * IMAGE_SIDE, row * IMAGE_SIDE, IMAGE_SIDE, IMAGE_SIDE))
        self._state.set_current_z(grid.tile_latent(row, col))

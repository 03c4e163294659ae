"""The latent grid (manifold) dock: a mosaic of decoded latent codes, N x N over the prior's
quantiles, or square tiles over the scatter's visible range (N along its shorter side).

The grid itself (axes, codes, mosaic) is the state's ``decoded_grid()``: decoded once per
model, dims, size and range and shared with the scatter's overlay. This dock sets the
grid's size and spacing, draws the mosaic and sends a clicked tile's code to the state.

For a labelled model (M2, M1+M2) the grid is a grid of *style*: a "Digit" selector picks
the class every code is drawn as (decode(z_grid, y)). It sets the state's shown class, which
the state's decoder draws and its grid cache is keyed on, so the dock still shows the shared
grid: on the scatter's plane (axes, PCA, a UMAP / t-SNE map) like every other view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.grid import DecodedGrid
from ...core.image import IMAGE_SIDE
from ..images import ImageCanvas
from ..labelled import class_names, is_labelled
from ..own_turn import in_own_turn
from ..state import GRID_SIZE_RANGE, ExplorerState

REGION_GAUSSIAN = "Gaussian quantiles"
REGION_VISIBLE = "Visible range"
REGION_TIPS = {
    REGION_GAUSSIAN: "Tiles at the prior's 5%–95% quantiles: each tile holds an equal share of its mass",
    REGION_VISIBLE: "Square tiles over the range the latent scatter shows (follows its zoom and pan)",
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
        self.size_spin.setToolTip(
            "Tiles per side: N x N over the Gaussian quantiles; over the visible range, N along "
            "its shorter side and as many square tiles as fit along the longer"
        )
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
        self.class_combo = QComboBox()
        self.class_combo.setToolTip(
            "A labelled model's z is the style of a digit: the grid, the decoder preview, the "
            "traversal, walks and the scatter's overlay draw every style as this digit, decode(z, y)"
        )
        self.class_label = QLabel("Digit")
        self.class_label.setToolTip(self.class_combo.toolTip())
        self.canvas = ImageCanvas(min_side=150)
        self.canvas.setToolTip("Click a tile to send its z to the decoder preview")
        top = QHBoxLayout()
        n_label = QLabel("N")
        n_label.setToolTip(self.size_spin.toolTip())
        top.addWidget(n_label)
        top.addWidget(self.size_spin)
        top.addWidget(self.region, 1)
        top.addWidget(self.class_label)
        top.addWidget(self.class_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        # Live: at most every LIVE_REFRESH_MS, in an event-loop turn of its own (own_turn.py).
        self._refresh_later = qthrottled(
            lambda: in_own_turn(self, self._draw), timeout=LIVE_REFRESH_MS, parent=self
        )
        self._follow_later = qthrottled(self._draw, timeout=FOLLOW_MS, parent=self)

        self.size_spin.valueChanged.connect(self._on_size_changed)
        self.region.currentIndexChanged.connect(self._on_region_changed)
        self.canvas.clicked.connect(self._on_tile_clicked)
        self.class_combo.currentIndexChanged.connect(self._on_class_chosen)
        state.modelChanged.connect(self._on_model_changed)
        state.datasetChanged.connect(self._sync_classes)  # (the digit names are the data's)
        state.dimsChanged.connect(self._on_dims_changed)
        state.gridChanged.connect(self._on_grid_changed)
        state.visibleRangeChanged.connect(self._on_visible_range_changed)
        state.decoderChanged.connect(self._on_decoder_changed)
        self._sync_classes()
        self.refresh()

    # --- reading ---------------------------------------------------------------------------
    def grid_size(self) -> int:
        return self._state.grid_size

    @property
    def mosaic(self) -> np.ndarray | None:
        """The decoded grid's mosaic [28 rows, 28 columns] (None without a model)."""
        grid = self.grid()
        return None if grid is None else grid.mosaic

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y values of the grid's columns and rows (rows ascending)."""
        grid = self.grid()
        if grid is None:
            return np.zeros(0), np.zeros(0)
        return grid.xs.copy(), grid.ys.copy()

    def extent(self) -> QRectF:
        """The latent rectangle the mosaic covers (each tile centred on its z)."""
        grid = self.grid()
        return QRectF() if grid is None else QRectF(*grid.extent)

    def tile_latent(self, row: int, col: int) -> np.ndarray:
        """Full latent code of tile (row, col); row 0 is the top row."""
        grid = self.grid()
        if grid is None:
            raise RuntimeError("no model: no grid to read")
        return grid.tile_latent(row, col)

    def shown_class(self) -> int | None:
        """The digit a labelled model's grid is drawn as (None for a VAE)."""
        data = self.class_combo.currentData()
        return None if data is None else int(data)

    def set_shown_class(self, y: int) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData(int(y)))

    def _on_class_chosen(self) -> None:
        y = self.class_combo.currentData()
        if y is not None:  # every view that draws a style draws it as this digit
            self._state.set_shown_class(int(y))
        self.refresh()

    def _on_decoder_changed(self) -> None:
        """A scrubbed epoch's weights, or another shown digit (chosen here or elsewhere)."""
        self._sync_classes()
        self.refresh()

    def grid(self) -> DecodedGrid | None:
        """The grid on show: the state's, on its plane; for a labelled model its codes are
        drawn as the chosen digit (the digit selector keeps the state's shown class)."""
        return self._state.decoded_grid()

    def _sync_classes(self) -> None:
        """The digit selector shows for labelled models only, with the data set's names."""
        model: Any = self._state.model
        labelled = is_labelled(model)
        self.class_combo.setVisible(labelled)
        self.class_label.setVisible(labelled)
        if not labelled:
            with QSignalBlocker(self.class_combo):
                self.class_combo.clear()
            return
        names = class_names(self._state.test_set, model.classes)
        if [self.class_combo.itemText(i) for i in range(self.class_combo.count())] != names:
            with QSignalBlocker(self.class_combo):
                keep = self.class_combo.currentData()
                self.class_combo.clear()
                for i, name in enumerate(names):
                    self.class_combo.addItem(name, i)
                self.class_combo.setCurrentIndex(max(self.class_combo.findData(keep), 0))
        with QSignalBlocker(self.class_combo):
            self.class_combo.setCurrentIndex(max(self.class_combo.findData(self._state.shown_class), 0))

    # --- drawing ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Draw the state's decoded grid now."""
        self._refresh_later.cancel()
        self._follow_later.cancel()
        self._draw()

    def _draw(self) -> None:
        grid = self.grid()
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
        self._sync_classes()
        self._refresh_soon()

    def _on_dims_changed(self) -> None:
        self._refresh_soon()

    def _on_visible_range_changed(self) -> None:
        # On a UMAP / t-SNE map the state's grid always covers what is in view.
        if self._state.grid_spacing == "visible" or self._state.plane.is_map:
            self._follow_later()

    def _on_tile_clicked(self, fx: float, fy: float) -> None:
        grid = self.grid()
        if grid is None:
            return
        row, col = min(int(fy * grid.rows), grid.rows - 1), min(int(fx * grid.cols), grid.cols - 1)
        self.canvas.set_highlight(QRectF(col * IMAGE_SIDE, row * IMAGE_SIDE, IMAGE_SIDE, IMAGE_SIDE))
        self._state.set_current_z(grid.tile_latent(row, col))

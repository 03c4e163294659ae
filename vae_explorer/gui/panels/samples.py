"""The samples dock: a grid of images decoded from z ~ N(0, I) by the current model."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.image import as_float_images
from ...core.latent import tile_images
from ..images import ImageCanvas
from ..state import ExplorerState

LIVE_REFRESH_MS = 250  # while training snapshots arrive (~4/s), redraw at most this often


class SamplesPanel(QWidget):
    """Prior samples; "New samples" draws a fresh set (a new seed each time)."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.size_spin = QSpinBox()
        self.size_spin.setRange(2, 16)
        self.size_spin.setValue(8)
        self.size_spin.setPrefix("grid ")
        self.size_spin.setToolTip("Samples per side")
        self.new_button = QPushButton("New samples")
        self.new_button.setToolTip("Draw new z ~ N(0, I) and decode them")
        self.canvas = ImageCanvas(min_side=150)
        self.canvas.setToolTip("Decoder means of latent codes drawn from the prior N(0, I)")
        top = QHBoxLayout()
        top.addWidget(self.size_spin)
        top.addStretch(1)
        top.addWidget(self.new_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        self.seed = 0  # the prior draw on show: the same seed gives the same codes
        self._refresh_later = qthrottled(self._draw, timeout=LIVE_REFRESH_MS, parent=self)

        self.new_button.clicked.connect(self._on_new_clicked)
        self.size_spin.valueChanged.connect(self._on_size_changed)
        state.modelChanged.connect(self._on_model_changed)
        self.refresh()

    @property
    def mosaic(self) -> np.ndarray | None:
        """The mosaic on show (None without a model)."""
        return self.canvas.image()

    def refresh(self) -> None:
        """Decode the current seed's samples with the current model, now."""
        self._refresh_later.cancel()
        self._draw()

    def _draw(self) -> None:
        model = self._state.model
        if model is None:
            self.canvas.set_image(None)
            return
        n = self.size_spin.value()
        images = as_float_images(model.sample(n * n, generator=torch.Generator().manual_seed(self.seed)))
        self.canvas.set_image(tile_images(images, n, n, pad=1))

    # --- slots -----------------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        if self._state.live:
            self._refresh_later()
        else:
            self.refresh()

    def _on_new_clicked(self) -> None:
        self.seed += 1
        self.refresh()

    def _on_size_changed(self, _value: int) -> None:
        self.refresh()

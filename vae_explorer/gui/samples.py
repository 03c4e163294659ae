"""The samples dock: a grid of digits decoded from z ~ N(0, I)."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..core.latent import decode_latents, tile_images
from ..core.model import VAE
from .images import ImageCanvas


class SamplesPanel(QWidget):
    """Prior samples; "New samples" draws a fresh set (a new seed each time)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.new_button.clicked.connect(self._on_new_clicked)
        self.size_spin.valueChanged.connect(self._on_size_changed)
        self._model: VAE | None = None
        self.seed = 0
        self.mosaic: np.ndarray | None = None

    def set_model(self, model: VAE | None) -> None:
        self._model = model
        self.refresh()

    def refresh(self) -> None:
        """Decode the current seed's samples with the current model."""
        if self._model is None:
            self.mosaic = None
            self.canvas.set_image(None)
            return
        n = self.size_spin.value()
        g = torch.Generator().manual_seed(self.seed)
        z = torch.randn((n * n, self._model.latent_dim), generator=g)
        self.mosaic = tile_images(decode_latents(self._model, z.numpy()), n, n, pad=1)
        self.canvas.set_image(self.mosaic)

    def _on_new_clicked(self) -> None:
        self.seed += 1
        self.refresh()

    def _on_size_changed(self, _value: int) -> None:
        self.refresh()

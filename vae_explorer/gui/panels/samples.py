"""The samples dock: a grid of images decoded from z ~ N(0, I) by the current model.

For a labelled model (M2, M1+M2) the samples are class-conditional: a "Digits" selector
draws either one row per class (the same style z in each column, so a column is one style
written as every digit) or an N x N grid of one class."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.image import as_float_images
from ...core.latent import tile_images
from ..images import ImageCanvas
from ..labelled import class_names, is_labelled
from ..own_turn import in_own_turn
from ..state import ExplorerState

LIVE_REFRESH_MS = 250  # while training snapshots arrive (~4/s), redraw at most this often
EVERY_CLASS = -1  # the "Digits" selector's "one row per class"


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
        self.class_combo = QComboBox()
        self.class_combo.setToolTip(
            "A labelled model draws samples of a chosen digit, p(x|y, z) with z ~ N(0, I): one "
            "row per digit (each column one style), or a grid of one digit"
        )
        self.canvas = ImageCanvas(min_side=150)
        self.canvas.setToolTip("Decoder means of latent codes drawn from the prior N(0, I)")
        top = QHBoxLayout()
        top.addWidget(self.size_spin)
        top.addWidget(self.class_combo)
        top.addStretch(1)
        top.addWidget(self.new_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        self.seed = 0  # the prior draw on show: the same seed gives the same codes
        self._refresh_later = qthrottled(
            lambda: in_own_turn(self, self._draw), timeout=LIVE_REFRESH_MS, parent=self
        )

        self.new_button.clicked.connect(self._on_new_clicked)
        self.size_spin.valueChanged.connect(self._on_size_changed)
        self.class_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        state.modelChanged.connect(self._on_model_changed)
        state.datasetChanged.connect(self._sync_classes)  # (the digit names are the data's)
        # A scrubbed epoch's weights (the timeline), as the grid and the preview show them.
        state.decoderChanged.connect(self._refresh_later)
        self._sync_classes()
        self.refresh()

    def shown_class(self) -> int | None:
        """EVERY_CLASS, a class, or None (a VAE: prior samples)."""
        data = self.class_combo.currentData()
        return None if data is None else int(data)

    def set_shown_class(self, y: int) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData(int(y)))

    def _sync_classes(self) -> None:
        model: Any = self._state.model
        labelled = is_labelled(model)
        self.class_combo.setVisible(labelled)
        if not labelled:
            with QSignalBlocker(self.class_combo):
                self.class_combo.clear()
            return
        items = ["one row per digit", *class_names(self._state.test_set, model.classes)]
        if [self.class_combo.itemText(i) for i in range(self.class_combo.count())] != items:
            with QSignalBlocker(self.class_combo):
                keep = self.class_combo.currentData()
                self.class_combo.clear()
                for i, text in enumerate(items):
                    self.class_combo.addItem(text, i - 1)
                self.class_combo.setCurrentIndex(max(self.class_combo.findData(keep), 0))

    @property
    def mosaic(self) -> np.ndarray | None:
        """The mosaic on show (None without a model)."""
        return self.canvas.image()

    def refresh(self) -> None:
        """Decode the current seed's samples with the current model, now."""
        self._refresh_later.cancel()
        self._name_the_size()
        self._draw()

    def _name_the_size(self) -> None:
        """One row per digit: the spin box counts the styles (columns), not a grid's side."""
        per_digit = self.shown_class() == EVERY_CLASS
        self.size_spin.setPrefix("styles " if per_digit else "grid ")
        self.size_spin.setToolTip("Styles per digit (the columns)" if per_digit else "Samples per side")

    def _draw(self) -> None:
        model: Any = self._state.decoder_model
        if model is None:
            self.canvas.set_image(None)
            return
        n = self.size_spin.value()
        gen = torch.Generator().manual_seed(self.seed)
        y = self.shown_class()
        if y is None:
            images = as_float_images(model.sample(n * n, generator=gen))
            self.canvas.set_image(tile_images(images, n, n, pad=1))
        elif y == EVERY_CLASS:  # row c: class c; column j: the same style z_j
            k = model.classes
            z = torch.randn((n, model.latent_dim), generator=gen).repeat(k, 1)
            images = as_float_images(model.decode(z, torch.arange(k).repeat_interleave(n)))
            self.canvas.set_image(tile_images(images, k, n, pad=1))
        else:
            z = torch.randn((n * n, model.latent_dim), generator=gen)
            images = as_float_images(model.decode(z, y))
            self.canvas.set_image(tile_images(images, n, n, pad=1))

    # --- slots -----------------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        self._sync_classes()
        if self._state.live:
            self._refresh_later()
        else:
            self.refresh()

    def _on_new_clicked(self) -> None:
        self.seed += 1
        self.refresh()

    def _on_size_changed(self, _value: int) -> None:
        self.refresh()

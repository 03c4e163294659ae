"""The decoder preview dock: the decoded image of the current z, large and crisp.

Below it, when a test point is clicked, that image's input and reconstruction.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from .images import ImageCanvas


class DecoderPreview(QWidget):
    """Shows decode(z) and the latent coordinates it came from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ImageCanvas(min_side=140)
        self.canvas.setToolTip(
            "The decoder's mean image for the latent point marked by the crosshair"
        )
        self.coords = QLabel("click or drag in the latent scatter to decode a point")
        self.coords.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.coords.setWordWrap(True)
        self.input_view = ImageCanvas(min_side=56)
        self.recon_view = ImageCanvas(min_side=56)
        self.input_view.setToolTip("The selected test image")
        self.recon_view.setToolTip("Its reconstruction: decode(mean of q(z|x))")
        self.selected = QLabel("click a point to compare an input with its reconstruction")
        self.selected.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.selected.setWordWrap(True)
        self.selected.setStyleSheet("color: #aaa;")
        pair = QGridLayout()
        pair.addWidget(QLabel("input"), 0, 0, Qt.AlignmentFlag.AlignHCenter)
        pair.addWidget(QLabel("reconstruction"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        pair.addWidget(self.input_view, 1, 0)
        pair.addWidget(self.recon_view, 1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.canvas, 3)
        lay.addWidget(self.coords)
        lay.addSpacing(6)
        lay.addLayout(pair, 1)
        lay.addWidget(self.selected)
        self.z: np.ndarray | None = None

    def show_decoded(self, z: np.ndarray, image: np.ndarray) -> None:
        """Display the decoded ``image`` [28, 28] of latent code ``z`` [latent_dim]."""
        self.z = np.array(z, copy=True)
        self.canvas.set_image(image)
        shown = ", ".join(f"{v:+.2f}" for v in self.z[:6])
        more = ", …" if self.z.size > 6 else ""
        self.coords.setText(f"z = ({shown}{more})")

    def show_pair(self, index: int, caption: str, image: np.ndarray, recon: np.ndarray) -> None:
        """Show a test image and its reconstruction side by side."""
        self.input_view.set_image(image)
        self.recon_view.set_image(recon)
        self.selected.setText(f"test image #{index}: {caption}")

    def clear(self) -> None:
        self.z = None
        self.canvas.set_image(None)
        self.input_view.set_image(None)
        self.recon_view.set_image(None)

"""The decoder preview dock: the decoded image of the current z, large and crisp.

Below it, when a test point is picked, that image's input and reconstruction. Both follow
the state: the large image is decode(state.current_z) under the current model; the pair
belongs to state.picked_index, so it is cleared when nothing is picked or the dataset
changes and re-decoded when the model changes (never an old image beside a new model).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ..images import ImageCanvas
from ..labelled import ClassDecoder, class_names, is_labelled
from ..latent_text import vector_text
from ..own_turn import in_own_turn
from ..state import ExplorerState

COORDS_HINT = "click or drag in the latent scatter to decode a point"
PAIR_HINT = "click a point to compare an input with its reconstruction"


class DecoderPreview(QWidget):
    """Shows decode(state.current_z), its coordinates, and the picked test image's pair."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.canvas = ImageCanvas(min_side=80)  # small enough for a 1024 x 700 screen
        self.canvas.setToolTip("The decoder's mean image for the latent point marked by the crosshair")
        self.coords = QLabel(COORDS_HINT)
        self.coords.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.coords.setWordWrap(True)
        self.input_view = ImageCanvas(min_side=40)
        self.recon_view = ImageCanvas(min_side=40)
        self.input_view.setToolTip("The selected test image")
        self.recon_view.setToolTip("Its reconstruction: decode(mean of q(z|x))")
        self.selected = QLabel(PAIR_HINT)
        self.selected.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.selected.setWordWrap(True)
        self.selected.setStyleSheet("color: #aaa;")
        pair = QGridLayout()
        # Headings only over a pair: before a pick the hint below says what goes there.
        self._headings = (QLabel("input"), QLabel("reconstruction"))
        for column, heading in enumerate(self._headings):
            pair.addWidget(heading, 0, column, Qt.AlignmentFlag.AlignHCenter)
        pair.addWidget(self.input_view, 1, 0)
        pair.addWidget(self.recon_view, 1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.canvas, 3)
        lay.addWidget(self.coords)
        lay.addSpacing(6)
        lay.addLayout(pair, 1)
        lay.addWidget(self.selected)

        state.currentZChanged.connect(self._on_current_z_changed)
        state.modelChanged.connect(self._on_model_changed)
        state.pickedIndexChanged.connect(self._on_picked_index_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        state.latentsChanged.connect(self._on_latents_changed)
        state.decoderChanged.connect(self._on_model_changed)  # a scrubbed epoch, the shown digit
        state.scrub.epochChanged.connect(self._on_latents_changed)  # (the picked image's code moved)
        self._show_decoded()
        self._show_pair()

    @property
    def z(self) -> np.ndarray | None:
        """The latent code on show (the state's current z)."""
        return self._state.current_z

    # --- drawing ---------------------------------------------------------------------------
    def _show_decoded(self) -> None:
        z = self._state.current_z
        images = self._state.decode(z[None]) if z is not None else None
        if images is None or z is None:
            self.canvas.set_image(None)
            self.coords.setText(COORDS_HINT)
            return
        self.canvas.set_image(images[0])
        digit = ""
        if is_labelled(self._state.decoder_model):
            names = class_names(self._state.test_set)
            digit = f" drawn as {names[self._state.shown_class]}"
        self.coords.setText(f"z = {vector_text(z, 6)}{digit}")

    def _show_pair(self) -> None:
        """The picked test image and decode(its posterior mean), or nothing."""
        s = self._state
        index, test, latents = s.picked_index, s.test_set, s.shown_latents
        recon = None
        if index is not None and test is not None and latents is not None:
            recon = self._reconstruct(test.images[index : index + 1], latents[0][index : index + 1])
        shown = not (recon is None or index is None or test is None)
        for heading in self._headings:
            heading.setVisible(shown)
        if recon is None or index is None or test is None:
            self.input_view.set_image(None)
            self.recon_view.set_image(None)
            self.selected.setText(PAIR_HINT)
            return
        label = int(test.labels[index])
        caption = test.classes[label] if 0 <= label < len(test.classes) else str(label)
        self.input_view.set_image(test.images[index])
        self.recon_view.set_image(recon[0])
        self.selected.setText(f"test image #{index}: {caption}")

    def _reconstruct(self, image: np.ndarray, mu: np.ndarray) -> np.ndarray | None:
        """decode(mean of q(z|x)); a labelled model's style is drawn as the digit its
        classifier reads in the image (the y its latents were encoded with), not as the
        digit the other views draw."""
        model: Any = self._state.decoder_model
        if not is_labelled(model):
            return self._state.decode(mu)
        from ...core.latent import decode_latents  # torch: not before the first paint

        decoder: Any = ClassDecoder(model, int(model.classify(image)[0]))
        return decode_latents(decoder, mu)

    # --- slots -----------------------------------------------------------------------------
    def _on_current_z_changed(self) -> None:
        self._show_decoded()

    def _on_model_changed(self) -> None:
        if self._state.live:  # a training snapshot: in a turn of its own (own_turn.py)
            in_own_turn(self, self._show_model)
        else:
            self._show_model()

    def _show_model(self) -> None:
        self._show_decoded()
        self._show_pair()

    def _on_picked_index_changed(self) -> None:
        self._show_pair()

    def _on_dataset_changed(self) -> None:
        self._show_pair()

    def _on_latents_changed(self) -> None:
        if self._state.live:
            in_own_turn(self, self._show_pair)
        else:
            self._show_pair()

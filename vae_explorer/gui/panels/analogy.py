"""The style-analogy dock (Kingma et al. 2014, Figure 1, made live).

A labelled model keeps the digit (y) apart from the style (z). This dock takes a style
from one of three places: the canvas drawing, the test image picked on the scatter, or the
state's current z (a click in the style space); an image's style is q(z|x, y)'s mean, with
y the classifier's guess or a chosen digit. It shows that style drawn as every digit.

The source follows what the user did last (painting, picking a point, clicking in the
space) and can be chosen in the combo. The work runs in a LatestOnlyRunner (never on the
GUI thread, never a backlog); painting requests are throttled to one per THROTTLE_MS. For a
VAE the dock says plainly that it needs a labelled model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from ...core.framing import frame_like_mnist
from ...core.image import as_float_images
from ...core.latent import tile_images
from ..images import ImageCanvas
from ..labelled import class_names, is_labelled, style_rows
from ..latent_text import vector_text
from ..state import ExplorerState
from ..workers import LatestOnlyRunner
from .flow_row import FlowRow, labelled

THROTTLE_MS = 40  # while painting, at most 25 requests a second (the runner keeps the latest)
SOURCES = {
    "canvas": ("Canvas drawing", "The style of what you draw on the canvas"),
    "test": ("Picked test image", "The style of the test image picked on the scatter"),
    "z": ("Point in the style space", "The style z under the crosshair (click in the scatter)"),
}
GUESS = -1  # "Encode as": the classifier's most probable class
ENCODE_AS_TIP = (
    "The digit the image is taken to be when its style is inferred, q(z|x, y): the "
    "classifier's most probable class, or one you choose"
)
NOTHING_TO_ENCODE_TIP = "A point of the style space is a style already: nothing is encoded"
NEEDS_LABELLED = (
    "The style analogy needs a labelled model (semi-supervised M2 or M1+M2): its z holds the "
    "style of a digit apart from the digit itself. Train one in the Training dock "
    "(Model: Semi-supervised M2) or open one."
)


@dataclass(frozen=True)
class AnalogyRequest:
    serial: int
    model: Any  # the worker's own copy of the state's model
    source: str
    image: np.ndarray | None  # [784] float in [0, 1] for "canvas" / "test"
    z: np.ndarray | None  # [latent_dim] for "z"
    label: int  # GUESS or a class


@dataclass(frozen=True)
class AnalogyResult:
    serial: int
    source: str
    z: np.ndarray  # the style [latent_dim]
    rows: np.ndarray  # [classes, 28, 28]: the style drawn as each class
    probabilities: np.ndarray | None  # q(y|x) of the image source
    encoded_as: int | None  # the class the image was encoded as


def compute_analogy(request: AnalogyRequest) -> AnalogyResult:
    """The style of the request's source and that style drawn as every class (core maths)."""
    model = request.model
    probabilities, encoded_as = None, None
    if request.source == "z":
        z = np.asarray(request.z, np.float32).reshape(1, -1)
    else:
        image = np.asarray(request.image, np.float32).reshape(1, -1)
        probabilities = model.class_probabilities(image)[0].cpu().numpy()
        encoded_as = int(probabilities.argmax()) if request.label == GUESS else request.label
        z = model.encode(image, encoded_as)[0].cpu().numpy()
    return AnalogyResult(
        request.serial, request.source, z[0], style_rows(model, z)[0], probabilities, encoded_as
    )


class AnalogyPanel(QWidget):
    """The source image (or code), its classification, and its style as every digit (two
    rows of five)."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.source_combo = QComboBox()
        for key, (text, tip) in SOURCES.items():
            self.source_combo.addItem(text, key)
            self.source_combo.setItemData(self.source_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setToolTip("Where the style comes from (follows what you did last)")
        self.label_combo = QComboBox()
        self.label_combo.addItem("classifier's guess", GUESS)
        self.label_combo.setToolTip(ENCODE_AS_TIP)
        self.frame_check = QCheckBox("Frame like MNIST")
        self.frame_check.setChecked(True)
        self.frame_check.setToolTip(
            "Scale the drawing's ink to fit 20 x 20 pixels and put its centre of mass in the "
            "middle, as MNIST's digits were prepared: a digit drawn larger, smaller or off "
            "centre is far from everything the model saw (the picture below is what it reads)"
        )
        self.message = QLabel(NEEDS_LABELLED)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.source_view = ImageCanvas(min_side=56)
        self.source_view.setToolTip("The image whose style is shown")
        self.source_view.setMaximumSize(84, 84)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.row_view = ImageCanvas(min_side=60, hug_height=True)
        self.row_view.setToolTip("The same style z drawn as each digit: decode(z, y) for y = 0..9")
        tools = FlowRow()
        self._fields = (labelled("Style from:", self.source_combo), labelled("Encode as:", self.label_combo))
        tools.add(self._fields[0], stretch=True)
        tools.add(self._fields[1])
        tools.add(self.frame_check)
        head = QHBoxLayout()
        head.addWidget(self.source_view)
        head.addWidget(self.info, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(tools)
        lay.addWidget(self.message)
        lay.addWidget(self.row_view, 1)
        lay.addLayout(head)
        lay.addStretch(0)  # (what the digits do not fill: under the caption)

        self.result: AnalogyResult | None = None
        self.requests = 0  # requests submitted (tests check the throttle with it)
        self._serial = 0
        self._discard_upto = 0  # results of requests up to this serial are another model's
        self._live_model = False  # the model on show is a snapshot of a running training
        self._copy: tuple[int, Any] | None = None  # (model version, the workers' copy)
        self.runner = LatestOnlyRunner(compute_analogy, "style-analogy", self)
        self.runner.returned.connect(self._on_returned)
        self.runner.failed.connect(self._on_failed)
        self._request_later = qthrottled(self.request, timeout=THROTTLE_MS, parent=self)
        self._soon = False  # a throttled request is waiting

        self.source_combo.currentIndexChanged.connect(self._on_source_chosen)
        self.label_combo.currentIndexChanged.connect(lambda _i: self.request())
        self.frame_check.toggled.connect(lambda _on: self.request())
        state.modelChanged.connect(self._on_model_changed)
        state.datasetChanged.connect(self._on_model_changed)
        state.canvasImageChanged.connect(self._on_canvas_changed)
        state.pickedIndexChanged.connect(self._on_picked_changed)
        state.currentZChanged.connect(self._on_current_z_changed)
        self._on_model_changed()

    # --- reading ---------------------------------------------------------------------------
    def source(self) -> str:
        return str(self.source_combo.currentData())

    def set_source(self, key: str) -> None:
        self.source_combo.setCurrentIndex(self.source_combo.findData(key))
        self._show_frame_choice()  # (also when the combo's signals are blocked)

    @property
    def rows(self) -> np.ndarray | None:
        """The style on show drawn as every class, [classes, 28, 28] (None: nothing shown)."""
        return None if self.result is None else self.result.rows

    def is_busy(self) -> bool:
        """A request is waiting, running, or its result has not been shown yet."""
        return self._soon or self.runner.is_busy()

    def _request_soon(self) -> None:
        self._soon = True
        self._request_later()

    # --- state -> view ---------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        # Another model (not the next snapshot of the same run): a result still coming
        # is the old model's, never shown as this one's.
        another = not (self._state.live and self._live_model)
        if another:
            self._discard_upto = self._serial
        self._live_model = self._state.live
        model: Any = self._state.model
        ok = is_labelled(model)
        self.message.setVisible(not ok)
        for w in (*self._fields, self.source_view, self.info, self.row_view):
            w.setVisible(ok)
        if another:  # framing suits MNIST's digits (their 20 x 20 box): on for a model of them
            with QSignalBlocker(self.frame_check):
                self.frame_check.setChecked(self._state.model_meta.get("dataset", "mnist") == "mnist")
        self._show_frame_choice()
        if not ok:
            self._clear()
            return
        names = class_names(self._state.test_set, model.classes)
        if self.label_combo.count() != model.classes + 1 or self.label_combo.itemText(1) != names[0]:
            with QSignalBlocker(self.label_combo):
                keep = self.label_combo.currentData()
                while self.label_combo.count() > 1:
                    self.label_combo.removeItem(1)
                for i, name in enumerate(names):
                    self.label_combo.addItem(name, i)
                self.label_combo.setCurrentIndex(max(self.label_combo.findData(keep), 0))
        if self._state.live:
            self._request_soon()
        else:
            self.request()

    def _on_canvas_changed(self) -> None:
        if self._state.canvas_image is None:
            if self.source() == "canvas":
                self.request()
            return
        self._follow("canvas")

    def _on_picked_changed(self) -> None:
        if self._state.picked_index is not None:
            self._follow("test")

    def _on_current_z_changed(self) -> None:
        self._follow("z")

    def _follow(self, source: str) -> None:
        if self.source() != source:
            with QSignalBlocker(self.source_combo):
                self.set_source(source)
        self._request_soon()

    # --- the work --------------------------------------------------------------------------
    def _model_copy(self) -> Any:
        """The workers' copy of the state's model (the state's own may be refilled in place
        by the next training snapshot while a worker reads it)."""
        s = self._state
        if self._copy is None or self._copy[0] != s.model_version:
            model: Any = s.model
            self._copy = (s.model_version, copy.deepcopy(model).eval())
        return self._copy[1]

    def _source_image(self) -> np.ndarray | None:
        s = self._state
        if self.source() == "canvas":
            drawing = s.canvas_image
            if drawing is None or not self.frame_check.isChecked():
                return drawing
            return frame_like_mnist(drawing)
        if s.test_set is not None and s.picked_index is not None:
            return as_float_images(s.test_set.images[s.picked_index : s.picked_index + 1]).reshape(-1)
        return None

    def _on_source_chosen(self, _index: int) -> None:
        self._show_frame_choice()
        self.request()

    def _show_frame_choice(self) -> None:
        # Only for a drawing (test images are framed already), and only where the panel works.
        self.frame_check.setVisible(is_labelled(self._state.model) and self.source() == "canvas")
        # A point of the style space is a z already: nothing is encoded, as any digit.
        encodes = self.source() != "z"
        self._fields[1].setEnabled(encodes)
        self.label_combo.setToolTip(ENCODE_AS_TIP if encodes else NOTHING_TO_ENCODE_TIP)

    def request(self) -> None:
        """Ask for the current source's analogy now (shown when the worker returns)."""
        self._request_later.cancel()
        self._soon = False
        s = self._state
        if not is_labelled(s.model):
            return
        source = self.source()
        image = z = None
        if source == "z":
            z = s.current_z
            if z is None:
                return self._clear()
        else:
            image = self._source_image()
            if image is None:
                what = "Draw a digit on the canvas" if source == "canvas" else "Click a test point"
                self._clear(f"{what} to see its style as every digit.")
                return
        self._serial += 1
        self.requests += 1
        label = int(self.label_combo.currentData())
        self.runner.submit(AnalogyRequest(self._serial, self._model_copy(), source, image, z, label))

    def _on_returned(self, result: AnalogyResult) -> None:
        if result.serial <= self._discard_upto:
            return
        if self.result is not None and result.serial < self.result.serial:
            return
        self.result = result
        k = len(result.rows)
        cols = (k + 1) // 2 if k > 5 else k  # two rows of five: as wide as a side dock allows
        rows = -(-k // cols)
        blank = np.zeros((rows * cols - k, 28, 28), np.float32)
        self.row_view.set_image(tile_images(np.concatenate([result.rows, blank]), rows, cols, pad=1))
        names = class_names(self._state.test_set, len(result.rows))
        z_text = vector_text(result.z, 4)
        if result.probabilities is None:
            self.source_view.set_image(None)
            self.info.setText(f"Style z = {z_text} drawn as every digit.")
            return
        image = self._source_image() if result.source == self.source() else None
        self.source_view.set_image(None if image is None else image.reshape(28, 28))
        guess = int(result.probabilities.argmax())
        enc = result.encoded_as if result.encoded_as is not None else guess
        how = "its guess" if enc == guess else f"chosen: {names[enc]}"
        # The Canvas and the scatter's star encode the drawing as drawn: say why z differs.
        framed = result.source == "canvas" and self.frame_check.isChecked() and self.frame_check.isVisible()
        self.info.setText(
            f"Classified as <b>{names[guess]}</b> ({100 * result.probabilities[guess]:.0f}%).<br>"
            f"Style inferred as {names[enc]} ({how}): z = {z_text}"
            + (" of the drawing framed like MNIST (the Canvas reads it as drawn)" if framed else "")
        )

    def _on_failed(self, message: str) -> None:
        self.info.setText(f"<span style='color:#ff7b72'>Could not infer the style: {message}</span>")

    def _clear(self, text: str = "") -> None:
        self.result = None
        self.row_view.set_image(None)
        self.source_view.set_image(None)
        self.info.setText(text)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Wait for a running job (the window's close)."""
        self._request_later.cancel()
        self.runner.shutdown(wait_ms)

"""The scatter of a labelled model (M2, M1+M2): colour by predicted class, ring the
misclassified test points, mark the labelled training examples.

The scatter of such a model is its style space: each test point sits at q(z|x, y)'s mean
under the classifier's guess y. :func:`compute_labelled` (run in a Worker by the colour
control) asks core for the test set's predicted classes and the labelled training
examples' codes under their TRUE labels; :class:`LabelledMarks` draws them over the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from superqt.utils import qthrottled

from ...core.figures import CLASS_PALETTE
from ..state import ExplorerState
from .point_cloud import PointCloudItem

# key -> (menu text, what it shows)
LABELLED_QUANTITIES: dict[str, tuple[str, str]] = {
    "predicted": (
        "predicted class",
        "Each point in the colour of the class the model's classifier q(y|x) guesses",
    ),
    "misclassified": (
        "misclassified",
        "Test points the classifier gets wrong, ringed in red and coloured by their true class; "
        "the right ones grey",
    ),
    "labelled": (
        "labelled examples",
        "The few labelled training images the model learnt from, as diamonds at their style z "
        "(encoded under their true label); test points by true class",
    ),
}
RIGHT_GREY = "#4a4a4a"
RING_COLOUR = (255, 59, 48, 200)


@dataclass(frozen=True)
class LabelledColours:
    predicted: np.ndarray  # int64 [N]: the classifier's guess for each test image
    train_mu: np.ndarray | None  # [L, latent_dim]: labelled examples' z under their true label
    train_labels: np.ndarray | None  # int64 [L]


def compute_labelled(model: Any, images: np.ndarray, dataset_key: str, indices: Any) -> LabelledColours:
    """Predicted test classes, and (when ``indices`` into the training split are given)
    the labelled examples' codes under their true labels."""
    from ...core.data import DatasetRef
    from ...core.labelled import predict_labels

    predicted = predict_labels(model, images)
    if indices is None:
        return LabelledColours(predicted, None, None)
    idx = np.asarray(indices, np.int64).reshape(-1)
    train = DatasetRef.from_key(dataset_key).load("train")
    if idx.size and (idx.min() < 0 or idx.max() >= len(train)):
        raise ValueError(
            f"the model's labelled indices run to {int(idx.max())}, but this training set has "
            f"{len(train):,} images (was the model trained on another data set?)"
        )
    labels = np.asarray(train.labels[idx], np.int64)
    mu = (
        model.encode(train.images[idx], labels)[0].cpu().numpy()
        if idx.size
        else np.zeros((0, model.latent_dim))
    )
    return LabelledColours(predicted, mu.astype(np.float32), labels)


class LabelledMarks(QObject):
    """Colours the cloud for a labelled choice and draws its marks (rings, diamonds);
    ``summaryChanged`` carries the key to them (the view shows it under the legend)."""

    summaryChanged = Signal(str)

    def __init__(self, state: ExplorerState, cloud: PointCloudItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.cloud = state, cloud
        self.quantity: str | None = None
        self.found: LabelledColours | None = None
        self.summary = ""  # e.g. "37 of 1,500 test points misclassified (2.5%)"
        self.rings = pg.ScatterPlotItem(size=9, pen=pg.mkPen(RING_COLOUR, width=1.0), brush=None, symbol="o")
        self.examples = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#ffffff", width=1.0), symbol="d")
        self.rings.setZValue(6)
        self.examples.setZValue(7)
        for item in (self.rings, self.examples):
            item.setVisible(False)
        self._place_later = qthrottled(self._place, timeout=0, leading=False, parent=self)
        # The view moves the cloud on these after this object's slots: place the marks on
        # the next pass of the event loop, from the cloud's own coordinates.
        state.latentsChanged.connect(self._place_later)
        state.dimsChanged.connect(self._place_later)
        plane_changed = getattr(state.plane, "changed", None)
        if plane_changed is not None:
            plane_changed.connect(self._place_later)

    def _attach(self) -> None:
        vb = self.cloud.getViewBox()
        if vb is not None and self.rings.getViewBox() is None:
            vb.addItem(self.rings, ignoreBounds=True)
            vb.addItem(self.examples, ignoreBounds=True)

    def show(self, quantity: str | None, found: LabelledColours | None) -> None:
        """Show ``quantity``'s colours and marks (``found`` None: not computed yet)."""
        self.quantity, self.found = quantity, found
        self._set_summary("")
        test = self.state.test_set
        x, _ = self.cloud.points()
        if quantity is None or found is None or test is None or len(found.predicted) != len(x):
            self.rings.setVisible(False)
            self.examples.setVisible(False)
            return
        labels = np.asarray(test.labels, np.int64)
        wrong = found.predicted != labels
        palette = list(CLASS_PALETTE)
        if quantity == "predicted":
            self.cloud.set_colour_indices(found.predicted % len(palette), palette)
        elif quantity == "misclassified":
            grey = len(palette)
            self.cloud.set_colour_indices(np.where(wrong, labels % grey, grey), [*palette, RIGHT_GREY])
            share = f"{100 * wrong.mean():.1f}%"
            self._set_summary(
                f"○ {int(wrong.sum()):,} of {len(wrong):,} misclassified ({share}), in their true "
                "class's colour; grey: right"
            )
        else:
            self.cloud.use_class_colours()
            count = 0 if found.train_labels is None else len(found.train_labels)
            self._set_summary(f"◆ the {count:,} labelled training examples")
        self._place()

    def _set_summary(self, text: str) -> None:
        if text != self.summary:
            self.summary = text
            self.summaryChanged.emit(text)

    def _place(self) -> None:
        """Put the rings on the misclassified points and the diamonds at the examples' z."""
        self._attach()
        found, test = self.found, self.state.test_set
        rings = examples = False
        if found is not None and test is not None:
            x, y = self.cloud.points()
            if self.quantity == "misclassified" and len(x) == len(found.predicted):
                wrong = found.predicted != np.asarray(test.labels, np.int64)
                self.rings.setData(x[wrong], y[wrong])
                rings = True
            axes = getattr(self.state.plane, "is_axes", True)
            if self.quantity == "labelled" and found.train_mu is not None and axes:
                mu, labels = found.train_mu, found.train_labels
                assert labels is not None
                dx, dy = self.state.dims
                if mu.shape[1] > max(dx, dy):
                    brushes = [pg.mkBrush(CLASS_PALETTE[int(c) % len(CLASS_PALETTE)]) for c in labels]
                    self.examples.setData(mu[:, dx], mu[:, dy], brush=brushes)
                    examples = True
        self.rings.setVisible(rings)
        self.examples.setVisible(examples)

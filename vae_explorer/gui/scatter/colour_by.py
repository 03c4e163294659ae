"""Colour the scatter by a per-image quantity: class, ELBO, reconstruction, KL, log p(x),
total gap.

The values come from core (``vae_explorer.core.posterior``: ``image_metrics`` for the
ELBO and its two terms, ``image_gaps`` for log p(x) and the gap, which need a 2-d latent);
they are computed in a :class:`~vae_explorer.gui.workers.Worker` with progress, one job at
a time (a newer request waits in one slot; a job nothing wants any more is cancelled), and
cached per model version, test set and quantity. The cloud gets them as indices into a
64-colour table; the colour bar beside the plot shows the range.

A labelled model (M2, M1+M2; the scatter shows its style space z) is offered three more
choices, computed the same way (:mod:`.labelled_colours`): the predicted class, the
misclassified test points (ringed, the right ones greyed) and the labelled training
examples (marked at their z under their true label). The per-image VAE quantities are
disabled for it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QProgressBar

from ...core.model import VAE
from ..labelled import is_labelled
from ..state import ExplorerState
from ..workers import Worker
from .colour_bar import ColourBarItem, colour_table, quantise, value_range
from .labelled_colours import LABELLED_QUANTITIES, LabelledMarks, compute_labelled
from .point_cloud import PointCloudItem

# key -> (menu text, colour bar title, what it is, in plain words)
QUANTITIES: dict[str, tuple[str, str, str]] = {
    "class": ("class", "", "Each point in its class's colour (the legend names them)"),
    "elbo": ("ELBO", "ELBO (nats)", "The evidence lower bound of each test image: higher is better"),
    "recon": ("reconstruction", "recon. (nats)", "How badly each image is reconstructed (nats)"),
    "kl": ("KL", "KL (nats)", "KL(q(z|x) || p(z)): how far each image's code is from the prior"),
    "log_px": ("log p(x)", "log p(x) (nats)", "Each image's exact log-likelihood (quadrature)"),
    "total_gap": ("total gap", "gap (nats)", "log p(x) - ELBO: what the encoder's guess costs"),
}
METRICS = ("elbo", "recon", "kl")  # from image_metrics; the others from image_gaps
NEEDS_2D = ("log_px", "total_gap")
NEEDS_2D_TIP = "Needs a model with a 2-d latent space (exact integration over a grid)"
NEEDS_VAE_TIP = "Needs a VAE (a labelled model's bound sums over the classes)"
CacheKey = tuple[int, str, int, str]


def compute_values(
    model: VAE, images: np.ndarray, quantity: str, progress: Callable[..., Any] | None = None
) -> np.ndarray:
    """float64 [N]: ``quantity`` of each image under ``model`` (core does the maths)."""
    from ...core import posterior

    name = "image_metrics" if quantity in METRICS else "image_gaps"
    fn = getattr(posterior, name, None)
    if fn is None:
        raise RuntimeError(f"colouring by {QUANTITIES[quantity][0]} needs core.posterior.{name}")
    out = fn(model, images) if quantity in METRICS else fn(model, images, progress)
    values = np.asarray(out[quantity], np.float64).reshape(-1)
    if values.shape != (len(images),):
        raise ValueError(f"{name} gave {values.size} values for {len(images)} images")
    return values


class ColourByControl(QObject):
    """The "Colour by" combo, its progress bar and colour bar, and the cloud's colours."""

    def __init__(
        self, state: ExplorerState, cloud: PointCloudItem, bar: ColourBarItem, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state, self.cloud, self.bar = state, cloud, bar
        self._table = colour_table()
        self._cache: dict[CacheKey, Any] = {}
        self.marks = LabelledMarks(state, cloud, self)
        # The newest values per (dataset, size, quantity), whatever their model: shown,
        # marked "updating", while a training run's newer snapshot is being computed.
        self._latest: dict[tuple[str, int, str], Any] = {}
        self._worker: Worker | None = None
        self._running: CacheKey | None = None
        self._dropped = False  # the running job was cancelled: nothing wants its values
        self._closed = False  # the window closed: no new job starts
        self.calls = 0  # jobs started (tests check the cache with it)
        self.message = ""  # the last error, or ""
        self.combo = QComboBox()
        for key, (text, _, tip) in QUANTITIES.items():
            self.combo.addItem(text, key)
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("Colour the points by their class or by a per-image quantity")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(90)
        self.progress.setVisible(False)
        self.combo.currentIndexChanged.connect(self._on_combo_changed)
        state.modelChanged.connect(self._on_source_changed)
        state.datasetChanged.connect(self._on_source_changed)
        state.latentsChanged.connect(self.apply)
        self._on_source_changed()

    def quantity(self) -> str:
        return str(self.combo.currentData())

    def set_quantity(self, key: str) -> None:
        self.combo.setCurrentIndex(self.combo.findData(key))

    def is_busy(self) -> bool:
        return self._worker is not None

    # --- state -> view ---------------------------------------------------------------------
    def _key(self, quantity: str) -> CacheKey | None:
        test = self.state.test_set
        if test is None or self.state.model is None:
            return None
        return (self.state.model_version, self.state.dataset_key, len(test), quantity)

    def _on_source_changed(self) -> None:
        """A new model or data set: offer what fits it, forget values of older ones."""
        version = self.state.model_version
        self._cache = {k: v for k, v in self._cache.items() if k[0] == version}
        labelled = is_labelled(self.state.model)
        self._offer_labelled(labelled)
        model_2d = self.state.latent_dim == 2
        items = self.combo.model()
        assert isinstance(items, QStandardItemModel)
        for key in METRICS + NEEDS_2D:
            item = items.item(self.combo.findData(key))
            usable = not labelled and (model_2d or key not in NEEDS_2D)
            item.setEnabled(usable)
            tip = NEEDS_VAE_TIP if labelled else NEEDS_2D_TIP
            item.setToolTip(QUANTITIES[key][2] if usable else tip)
        if self.combo.currentIndex() < 0 or not items.item(self.combo.currentIndex()).isEnabled():
            self.set_quantity("class")  # applies
            return
        self.apply()

    def _offer_labelled(self, labelled: bool) -> None:
        """The labelled model's choices are in the combo only while one is current."""
        present = self.combo.findData(next(iter(LABELLED_QUANTITIES))) >= 0
        if labelled == present:
            return
        self.combo.blockSignals(True)
        current = self.quantity()
        for key, (text, tip) in LABELLED_QUANTITIES.items():
            if labelled:
                self.combo.insertItem(1 + list(LABELLED_QUANTITIES).index(key), text, key)
                self.combo.setItemData(self.combo.findData(key), tip, Qt.ItemDataRole.ToolTipRole)
            else:
                self.combo.removeItem(self.combo.findData(key))
        i = self.combo.findData(current)
        self.combo.setCurrentIndex(i if i >= 0 else 0)
        self.combo.blockSignals(False)

    def _on_combo_changed(self) -> None:
        self.message = ""
        if not self.is_busy():
            self.progress.setVisible(False)  # an earlier failure's note
        self.apply()

    def apply(self) -> None:
        """Colour the cloud by the chosen quantity: cached values now, else start a job
        (the previous colours stay, marked as updating, while it runs)."""
        quantity = self.quantity()
        key = self._key(quantity)
        self._drop_unwanted_job(key)
        if quantity in LABELLED_QUANTITIES and key is not None and is_labelled(self.state.model):
            self.bar.setVisible(False)
            found = self._cache.get(key)
            if found is None:
                self._start(key)
                live = self.state.training or self.state.live
                found = self._latest.get(key[1:]) if live else None
            self.marks.show(quantity, found)
            return
        self.marks.show(None, None)
        if quantity == "class" or key is None or quantity in LABELLED_QUANTITIES:
            self.cloud.use_class_colours()
            self.bar.setVisible(False)
            return
        title = QUANTITIES[quantity][1]
        values = self._cache.get(key)
        if values is None:
            self._start(key)
            live = self.state.training or self.state.live
            values = self._latest.get(key[1:]) if live else None
            title += " (updating)"
        if values is None or len(values) != len(self.cloud.points()[0]):
            # Nothing yet for these points: not the colours of another model's or data's
            # values meanwhile (the job's progress shows beside the combo).
            self.cloud.use_class_colours()
            self.bar.setVisible(False)
            return
        lo, hi = value_range(values)
        self.cloud.set_colour_indices(quantise(values, lo, hi, len(self._table)), self._table)
        self.bar.set_values(title, lo, hi)
        self.bar.setVisible(True)

    # --- the worker ------------------------------------------------------------------------
    def _drop_unwanted_job(self, wanted: CacheKey | None) -> None:
        """Cancel the running job once its values can no longer be shown (another quantity,
        data set or model is wanted): a total gap takes minutes on a CPU, and the newest
        request waits for it. In a training run a newer snapshot's model does not cancel it:
        an older snapshot's values stand in, marked updating, until the newest are done."""
        running = self._running
        if running is None or self._worker is None or self._dropped:
            return
        live = self.state.training or self.state.live
        if wanted is not None and running[1:] == wanted[1:] and (running[0] == wanted[0] or live):
            return
        self._dropped = True
        self._worker.cancel("no longer wanted")  # (at its next progress report)
        self.progress.setVisible(False)

    def _start(self, key: CacheKey) -> None:
        if self._worker is not None or self._closed:
            return  # the running job's end starts the newest request (apply again)
        model, test = self.state.model, self.state.test_set
        if model is None or test is None:
            return
        job_model = copy.deepcopy(model).eval()  # the worker's own; the state's may change
        images = test.images
        quantity = key[3]
        holder: list[Worker] = []

        def report(*args: Any) -> None:
            holder[0].report(args)

        if quantity in LABELLED_QUANTITIES:
            indices = self.state.model_arrays.get("labelled_indices")
            worker = Worker(
                compute_labelled, job_model, images, self.state.dataset_key, indices, name="scatter-colours"
            )
        else:
            worker = Worker(compute_values, job_model, images, quantity, report, name="scatter-colours")
        holder.append(worker)
        worker.progress.connect(self._on_worker_progress)
        worker.returned.connect(lambda values, key=key: self._on_worker_returned(key, values))
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker, self._running = worker, key
        self.calls += 1
        self.progress.setValue(0)
        self.progress.setFormat(f"{self._text(quantity)} %p%")
        self.progress.setVisible(True)
        worker.start()

    def _on_worker_progress(self, args: tuple[Any, ...]) -> None:
        fraction = _fraction(args)
        if fraction is not None:
            self.progress.setValue(int(round(100 * fraction)))

    def _text(self, quantity: str) -> str:
        return (
            LABELLED_QUANTITIES[quantity][0] if quantity in LABELLED_QUANTITIES else QUANTITIES[quantity][0]
        )

    def _on_worker_returned(self, key: CacheKey, values: Any) -> None:
        self._cache[key] = values
        self._latest[key[1:]] = values

    def _on_worker_failed(self, message: str) -> None:
        if self._closed or self._dropped:
            return
        self._running = None  # (over: going back to classes below does not cancel it)
        text = f"Could not colour by {self._text(self.quantity())}: {message}"
        self.set_quantity("class")
        self.message = text
        self.progress.setFormat("failed")
        self.progress.setToolTip(text)

    def _on_worker_finished(self) -> None:
        self._worker, self._running, self._dropped = None, None, False
        if not self.message:
            self.progress.setVisible(False)
        self.apply()  # the values just cached, or the newest request

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop the running job at its next progress report, start no other, and wait up to
        ``wait_ms`` (the window's close)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(wait_ms)


def _fraction(args: tuple[Any, ...]) -> float | None:
    """A progress report as a fraction: (done, total) or (fraction,)."""
    try:
        if len(args) >= 2 and float(args[1]) > 0:
            return min(max(float(args[0]) / float(args[1]), 0.0), 1.0)
        if len(args) == 1:
            return min(max(float(args[0]), 0.0), 1.0)
    except (TypeError, ValueError):
        return None
    return None

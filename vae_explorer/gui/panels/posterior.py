"""The posterior dock: the true posterior p(z|x) of one image beside the encoder's guess.

The image is the picked test image or the canvas drawing (a selector; it follows whichever
changed last). Core computes the exact 2-d posterior on a grid in a worker thread
(``LatestOnlyRunner``: the newest request wins), with the panel's own copy of the model;
requests are debounced while the user clicks or paints, and throttled while a training
run sends snapshots. The panel shows a placeholder, never a stale plot, when there is no
model, no image, or a model whose latent is not 2-d.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced, qthrottled

from ...core.model import VAE
from ..labelled import needs_a_vae
from ..on_screen import RefreshWhenShown, on_screen
from ..own_turn import forget, in_own_turn
from ..state import ExplorerState
from ..workers import LatestOnlyRunner
from .flow_row import FlowRow, labelled
from .posterior_job import PosteriorRequest, PosteriorResult
from .posterior_numbers import PosteriorNumbers
from .posterior_plot import PosteriorPlot, compute

DEBOUNCE_MS = 150  # while the user clicks around or paints
SCROLL_MIN_HEIGHT = 160  # pixels: a dock shorter than the panel's content scrolls it
LIVE_REFRESH_MS = 2000  # at most one posterior every 2 s while training snapshots arrive
SOURCES = {"picked": "Picked test image", "canvas": "Canvas drawing"}

NO_MODEL = "Open or train a model to see the posterior of an image."
NO_PICK = "Click a test point in the latent scatter to see the true posterior of that image."
NO_DRAWING = "Draw on the canvas to see the true posterior of your drawing."
NOT_2D = (
    "The exact posterior needs a 2-d latent: this model's latent has {dim} dimensions, too many "
    "to sum over a grid. Open or train a model with latent size 2."
)


class PosteriorPanel(QWidget):
    """The exact posterior of the picked test image or the canvas drawing, with its gaps."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._token = 0
        self._discard_upto = 0  # results of requests up to this token are out of date
        self._shown: PosteriorResult | None = None
        self._submitted_key: tuple[Any, ...] | None = None
        self._model_copy: tuple[tuple[int, int | None], VAE] | None = None
        self._seed = 0
        self._build()
        self.runner = LatestOnlyRunner(compute, name="posterior", parent=self)
        self.runner.returned.connect(self._on_runner_returned)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.busyChanged.connect(self._on_runner_busy_changed)
        self._submit_later = qdebounced(self._submit_now, timeout=DEBOUNCE_MS, parent=self)
        self._submit_live = qthrottled(self._submit_now, timeout=LIVE_REFRESH_MS, leading=True, parent=self)
        # Behind another dock's tab nothing is solved; the latest request runs when it comes up.
        self._when_shown = RefreshWhenShown(self, self._submit_now)

        self.source_combo.currentIndexChanged.connect(self._on_source_changed)
        self.importance_box.toggled.connect(self._on_importance_toggled)
        self.draws_spin.valueChanged.connect(self._on_draws_changed)
        self.redraw_button.clicked.connect(self._on_redraw_clicked)
        state.modelChanged.connect(self._on_model_changed)
        state.decoderChanged.connect(self._schedule)  # a scrubbed epoch's weights
        state.pickedIndexChanged.connect(self._on_picked_index_changed)
        state.canvasImageChanged.connect(self._on_canvas_image_changed)
        self._schedule()

    def _build(self) -> None:
        self.source_combo = QComboBox()
        for key, text in SOURCES.items():
            self.source_combo.addItem(text, key)
        self.source_combo.setToolTip("Which image's posterior to show (follows the one you changed last)")
        self.importance_box = QCheckBox("Importance draws")
        self.importance_box.setToolTip(
            "Importance sampling: show K draws from q(z|x), sized by their normalised importance "
            "weights, and how the K-sample IWAE bound approaches log p(x) as K grows"
        )
        self.draws_spin = QSpinBox()
        self.draws_spin.setRange(10, 1000)
        self.draws_spin.setValue(100)
        self.draws_spin.setPrefix("K ")
        self.draws_spin.setToolTip("How many draws from q to show")
        self.redraw_button = QToolButton()
        self.redraw_button.setText("Redraw")
        self.redraw_button.setToolTip("Draw another K points from q (a new seed)")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #aaa;")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        )  # (as every panel's)
        self.message.setMinimumHeight(60)
        self.plot = PosteriorPlot()
        self.plot.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.numbers = PosteriorNumbers()
        # The tool row wraps in a narrow dock instead of widening it.
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.source_combo.setMinimumContentsLength(12)
        tools = FlowRow(spacing=6)
        image = labelled("Image:", self.source_combo)
        self._tools = (image, self.importance_box, self.draws_spin, self.redraw_button)
        for i, tool in enumerate(self._tools):
            tools.add(tool, stretch=i == 0)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addWidget(tools)
        lay.addWidget(self.caption)
        lay.addWidget(self.message)
        lay.addWidget(self.plot, 1)  # the latent plane takes what the rest leaves
        lay.addWidget(self.numbers)
        lay.addStretch()  # (only without the plane: a message stays at the top)
        self.scroll_area = _ScrollIfShort(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self._show_sampling_controls()

    # --- what is on show (for tests and the window) -----------------------------------------
    @property
    def source(self) -> str:
        """ "picked" or "canvas": whose posterior the panel follows."""
        return str(self.source_combo.currentData())

    @property
    def result(self) -> PosteriorResult | None:
        """The result on show, or None (a placeholder or an error is shown instead)."""
        return self._shown

    @property
    def requests_sent(self) -> int:
        """How many requests went to the worker so far (each past the debounce/throttle)."""
        return self._token

    def set_source(self, source: str) -> None:
        index = self.source_combo.findData(source)
        if index >= 0:
            self.source_combo.setCurrentIndex(index)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Drop pending requests and wait (at most ``wait_ms``) for the running one."""
        self._submit_later.cancel()
        self._submit_live.cancel()
        forget(self)
        self.runner.shutdown(wait_ms)

    # --- requests ---------------------------------------------------------------------------
    def _image(self) -> tuple[np.ndarray, str, Any] | str:
        """(image float32 [784], its caption, an identity key) of the source, or the reason
        there is none (a placeholder text)."""
        s = self._state
        reason = self._model_reason()
        if reason:
            return reason
        if self.source == "canvas":
            drawing = s.canvas_image
            if drawing is None:
                return NO_DRAWING
            return drawing, "the canvas drawing", ("canvas", id(drawing))
        index, test = s.picked_index, s.test_set
        if index is None or test is None:
            return NO_PICK
        label = int(test.labels[index])
        name = test.classes[label] if 0 <= label < len(test.classes) else str(label)
        image = test.images[index].astype(np.float32).reshape(-1) / 255.0
        return image, f"test image #{index} ({name})", ("picked", s.dataset_key, index)

    def _model_reason(self) -> str:
        """Why the model on show has no exact posterior here ("" when it has one)."""
        s = self._state
        if s.model is None:
            return NO_MODEL
        reason = needs_a_vae(s.model, "The exact posterior")  # explore() or labelled models
        if reason:
            return reason
        return NOT_2D.format(dim=s.latent_dim) if s.latent_dim != 2 else ""

    def _schedule(self, live: bool = False) -> None:
        """Show the placeholder now if there is nothing to compute; else ask for a new
        posterior (debounced, or throttled while training snapshots arrive)."""
        usable = not self._model_reason()  # no control may pretend otherwise
        for control in (self.source_combo, self.importance_box):
            control.setEnabled(usable)
        for tool in self._tools:  # nor stand greyed out above the message that says why
            tool.setVisible(usable)
        self._show_sampling_controls()
        found = self._image()
        if isinstance(found, str):
            self._submit_now()
            return
        if self._shown is None:  # never leave an earlier placeholder up while computing
            self.message.setStyleSheet("")
            self.message.setText(f"Computing the posterior of {found[1]}…")
        if live:
            self._submit_live()
        else:
            self._submit_later()

    def _submit_now(self) -> None:
        found = self._image()
        if isinstance(found, str):
            self._show_placeholder(found)
            return
        if not on_screen(self):
            self._when_shown.request()
            return
        image, label, identity = found
        s = self._state
        epoch, model = self._weights()
        key = (s.model_version, epoch, identity, self._sampling_key())
        if key == self._submitted_key:
            return
        if epoch is not None:
            label = f"{label} · epoch {epoch}'s weights"
        self._submitted_key = key
        self._token += 1
        self.runner.submit(
            PosteriorRequest(
                self._token,
                self._worker_model((s.model_version, epoch), model),
                image,
                self.source,
                label,
                importance=self.importance_box.isChecked(),
                draws=self.draws_spin.value(),
                seed=self._seed,
            )
        )

    def _sampling_key(self) -> tuple[Any, ...]:
        if not self.importance_box.isChecked():
            return (False,)
        return (True, self.draws_spin.value(), self._seed)

    def _weights(self) -> tuple[int | None, VAE]:
        """The weights on show: while the timeline is scrubbed back, those kept at that epoch
        (as the scatter and the decoders show them), else the current model's."""
        s = self._state
        assert s.model is not None
        epoch = s.scrub.weights_epoch() if s.scrub.scrubbing else None
        past = s.scrub.model() if epoch is not None else None
        return (epoch, past) if past is not None else (None, s.model)

    def _worker_model(self, version: tuple[int, int | None], model: VAE) -> VAE:
        """A copy of ``model`` that only the worker thread uses (one per version)."""
        if self._model_copy is None or self._model_copy[0] != version:
            self._model_copy = (version, copy.deepcopy(model))
        return self._model_copy[1]

    # --- showing ----------------------------------------------------------------------------
    def _show_placeholder(self, text: str, discard: bool = True) -> None:
        if discard:
            self._discard_upto = self._token  # a result still in flight is out of date
        self._submitted_key = None
        self._shown = None
        self.plot.show_nothing()
        self.plot.setVisible(False)
        self.numbers.clear()
        self.numbers.setVisible(False)  # no table of dashes under a message
        self.caption.clear()
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.message.setVisible(True)

    def _show_error(self, text: str) -> None:
        self._show_placeholder(f"Could not compute the posterior: {text}", discard=False)
        self.message.setStyleSheet("color: #ef5350;")

    def _show_result(self, result: PosteriorResult) -> None:
        self._shown = result
        self.message.setVisible(False)
        self.plot.setVisible(True)
        self.numbers.setVisible(True)
        self.plot.show_result(result)
        self.numbers.show_result(result)
        note = f" · {result.note}" if result.note else ""
        self.caption.setText(f"Posterior of {result.label} · {result.seconds * 1000:.0f} ms{note}")

    def _show_sampling_controls(self) -> None:
        on = self.importance_box.isChecked() and self.importance_box.isEnabled()
        self.draws_spin.setEnabled(on)
        self.redraw_button.setEnabled(on)
        self.plot.show_iwae(on)

    # --- slots ------------------------------------------------------------------------------
    def _on_runner_returned(self, result: PosteriorResult) -> None:
        if result.token <= self._discard_upto:
            return
        if self._shown is not None and result.token < self._shown.token:
            return
        if result.error is not None or result.posterior is None:
            self._show_error(result.error or "no result")
            return
        self._show_result(result)

    def _on_runner_failed(self, message: str) -> None:
        self._show_error(message)

    def _on_runner_busy_changed(self, busy: bool) -> None:
        text = self.caption.text().removesuffix(" · computing…")
        self.caption.setText(text + " · computing…" if busy and self._shown is not None else text)

    def _on_model_changed(self) -> None:
        if self._state.live:
            in_own_turn(self, self._schedule_live)
        else:
            self._schedule()

    def _schedule_live(self) -> None:
        self._schedule(live=True)

    def _on_picked_index_changed(self) -> None:
        if self._state.picked_index is not None:
            self.set_source("picked")
        self._schedule()

    def _on_canvas_image_changed(self) -> None:
        if self._state.canvas_image is not None:
            self.set_source("canvas")
        self._schedule()

    def _on_source_changed(self, _index: int) -> None:
        self._schedule()

    def _on_importance_toggled(self, _on: bool) -> None:
        self._show_sampling_controls()
        self._schedule()

    def _on_draws_changed(self, _value: int) -> None:
        self._schedule()

    def _on_redraw_clicked(self) -> None:
        self._seed += 1
        self._schedule()


class _ScrollIfShort(QScrollArea):
    """Scrolls the panel only in a dock shorter than its content's minimum (the plot
    stretches to fill any room beyond it); as narrow as the content allows, never
    scrolling sideways."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self._content = content
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(self._content.minimumSizeHint().width() + bar, SCROLL_MIN_HEIGHT)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self._content.sizeHint()

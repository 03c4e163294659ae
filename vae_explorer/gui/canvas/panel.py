"""CanvasPanel: paint a digit, mask pixels away and watch the model fill them in.

The panel reads the model and the test digits from the :class:`ExplorerState` and writes
one thing back: the drawing's posterior q(z|x) (``state.set_canvas_posterior``), which the
latent view marks; None while nothing is drawn. Imputation runs on a worker thread
(:mod:`.impute_runner`) with the panel's own copy of the model, newest request first;
each result brings several draws and their per-pixel spread (how sure the model is).
A press of Impute draws with a new seed; live re-imputation while painting keeps the
seed, so the picture only changes with the drawing.
While a training run streams snapshots, that copy is refreshed at most every
``MODEL_REFRESH_MS`` (copying and re-imputing 4 times a second would only make the window
stutter), and at once when the run ends.
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget
from superqt.utils import qthrottled

from ...core.image import IMAGE_PIXELS
from ...core.imputation import DEFAULT_STEPS, METHOD_LABELS
from ...core.latent import encode_images
from ...core.model import VAE
from ..labelled import needs_a_vae
from ..latent_text import vector_text
from ..own_turn import forget, in_own_turn
from ..state import ExplorerState
from .controls import SPREAD_TIP, CanvasControls, tip
from .impute_runner import ImputeRequest, ImputeResult, make_runner
from .mask_presets import MaskPresets

ENCODE_INTERVAL_MS = 30
IMPUTE_INTERVAL_MS = 30
STEP_NOUNS = {"importance": "rounds", "pseudo_gibbs": "chain steps", "mwg": "chain steps"}
DIGIT_CLASSES = [str(i) for i in range(10)]
MIN_SPREAD_SCALE = 0.05  # the spread map's full scale is its largest std, at least this
MODEL_REFRESH_MS = 5000  # while training: copy a snapshot for imputation at most this often
NOTHING_MASKED = "Nothing is masked: mask pixels (the mask brush, or a mask below) to impute them."


class CanvasPanel(CanvasControls):
    """Painting canvas with tools, test digits, preset masks and imputation."""

    imputed = Signal(object)  # float32 [28, 28]: the image shown under "Imputed"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        # The worker's own copy of state.model (never touched on this thread after the
        # copy), and the state.model_version it was copied from.
        self._worker_model: VAE | None = None
        self._worker_source: object = None  # the model it was copied from (live or scrubbed)
        self._worker_model_version = -1
        self._seen_model_version = -1
        self._rng = np.random.default_rng()
        self._seed = 0  # of the imputation draws: a new one per press of Impute
        self._token = 0  # of the newest imputation request
        self._discard_upto = 0  # results of requests up to this token are another model's
        self._worker_live = False  # the worker's model is a snapshot of a running training
        self._result: ImputeResult | None = None
        self._dirty = True  # the canvas or the settings changed since the last request
        self.last_encoding: tuple[np.ndarray, np.ndarray] | None = None

        self.runner = make_runner(self)
        self.runner.returned.connect(self._on_runner_returned)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.busyChanged.connect(self._on_runner_busy_changed)
        self._encode_later = qthrottled(self._encode, timeout=ENCODE_INTERVAL_MS, leading=False, parent=self)
        self._impute_later = qthrottled(self.impute, timeout=IMPUTE_INTERVAL_MS, leading=False, parent=self)
        self._refresh_model_later = qthrottled(
            lambda: in_own_turn(self, self._refresh_worker_model),
            timeout=MODEL_REFRESH_MS,
            leading=True,
            parent=self,
        )

        self.random_action.triggered.connect(self._on_random_triggered)
        self.impute_action.triggered.connect(self.impute_again)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.steps_spin.valueChanged.connect(self._on_settings_changed)
        self.live_check.toggled.connect(self._on_settings_changed)
        self.canvas.changed.connect(self._on_canvas_changed)
        state.modelChanged.connect(self._on_state_model_changed)
        state.decoderChanged.connect(self._on_decoder_changed)
        state.trainingChanged.connect(self._on_state_training_changed)
        state.datasetChanged.connect(self._on_state_dataset_changed)

        self._on_state_dataset_changed()
        self._on_method_changed()
        self._on_state_model_changed()
        self.mask_presets = MaskPresets(self.canvas, self.preset_buttons, self.clear_mask_button)

    # --- public interface -----------------------------------------------------------------
    def load_test_digit(self, index: int | None = None) -> int:
        """Put test image ``index`` (random if None) on the canvas; returns its index."""
        test = self.state.test_set
        if test is None or len(test) == 0:
            raise RuntimeError("no test images: the state has no test set")
        if index is None:
            index = int(self._rng.integers(len(test)))
        index = int(np.clip(index, 0, len(test) - 1))
        self.index_spin.blockSignals(True)
        self.index_spin.setValue(index)
        self.index_spin.blockSignals(False)
        noun = self.item_noun()
        self.canvas.set_ink(test.images[index], text=f"Load test {noun} #{index}")
        label = int(test.labels[index])
        name = test.classes[label] if label < len(test.classes) else str(label)
        self._set_message(f"Test {noun} #{index} (label {name}) on the canvas.")
        return index

    def item_noun(self) -> str:
        """ "digit" for a data set of digits (MNIST's ten classes "0"-"9"), else "image"."""
        test = self.state.test_set
        return "digit" if test is not None and is_digits(test.classes) else "image"

    def impute_again(self) -> None:
        """Impute with new draws (a new seed): what a press of Impute or Ctrl+Return does."""
        self._seed += 1
        self.impute()

    def seed(self) -> int:
        """The seed of the imputation draws on request (kept while painting live)."""
        return self._seed

    def imputation_draws(self) -> np.ndarray | None:
        """The draws on show (float32 [DRAWS, 28, 28]), or None."""
        return self.draws_strip.images()

    def imputation_spread(self) -> np.ndarray | None:
        """The per-pixel spread (std) of the draws on show (float32 [28, 28]), or None."""
        return self.spread_tile.image()

    def apply_preset_mask(self, name: str) -> None:
        """Replace the mask with a named preset ("middle_rows", "left_half", ...); "random"
        hides a new random half of the pixels at each call."""
        self.mask_presets.apply(name)

    def impute(self) -> None:
        """Impute the canvas now (on the worker thread); the result arrives via ``imputed``.
        With nothing masked there is nothing to fill in: no job, the message says why."""
        self._impute_later.cancel()
        method = self.method_combo.currentData()
        if self._worker_model is None or method is None or not self._can_impute():
            return
        self._token += 1
        self._dirty = False
        if not self.canvas.mask_array().any():
            self._set_message(self._paint_hint() if self.canvas.is_empty() else NOTHING_MASKED)
            self._update_tiles()
            return
        self.runner.submit(
            ImputeRequest(
                token=self._token,
                model=self._worker_model,
                image=self.canvas.ink_array().reshape(-1),
                mask=self.canvas.mask_array().reshape(-1),
                method=method,
                steps=self.steps_spin.value(),
                seed=self._seed,
            )
        )

    def imputed_image(self) -> np.ndarray | None:
        """The imputed image on show (float32 [28, 28]), or None."""
        return self.imputed_tile.image()

    def worker_model_version(self) -> int:
        """The ``state.model_version`` the imputation worker's copy of the model is from."""
        return self._worker_model_version

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Drop pending work and wait (at most ``wait_ms``) for a running imputation (the
        window calls this when it closes, with 0, then waits for every job at once)."""
        for later in (self._encode_later, self._impute_later, self._refresh_model_later):
            later.cancel()
        forget(self)
        self.runner.shutdown(wait_ms)

    # --- the state ------------------------------------------------------------------------
    def _on_state_model_changed(self) -> None:
        if self.state.model_version == self._seen_model_version:
            return  # saved or renamed: the same weights, nothing to redo
        self._seen_model_version = self.state.model_version
        self._encode_later()  # cheap: the posterior always belongs to the model on show
        if self.state.live:
            self._refresh_model_later()
        else:
            self._refresh_model_later.cancel()
            forget(self)
            self._refresh_worker_model()

    def _on_state_training_changed(self, running: bool) -> None:
        if not running:
            self._refresh_model_later.cancel()
            forget(self)
            if self._worker_model_version != self.state.model_version:
                self._refresh_worker_model()

    def _on_state_dataset_changed(self) -> None:
        test = self.state.test_set
        noun = self.item_noun()
        self.digit_heading.setText(f"<b>Test {noun}</b>")
        self.random_action.setText(f"Random {noun}")
        self.random_action.setToolTip(tip(f"Load a random test {noun}", "R"))
        self.random_button.setToolTip(self.random_action.toolTip())
        self.index_spin.setRange(0, max(0, len(test) - 1) if test is not None else 0)
        self._update_enabled()

    def _on_decoder_changed(self) -> None:
        """The timeline scrubbed to other weights (or back to live): impute and encode with
        the weights on show, as every other view draws with them."""
        if self.state.decoder_model is not self._worker_source:
            self._encode_later()
            self._refresh_worker_model()

    def _refresh_worker_model(self) -> None:
        """Give the imputation worker its own copy of the model on show (a scrubbed epoch's
        weights while the timeline is scrubbed back); forget the result of the previous one
        and (live) impute again."""
        model = self.state.decoder_model
        self._worker_source = model
        self._worker_model = None if model is None else copy.deepcopy(model).eval()
        self._worker_model_version = self.state.model_version
        # A job still running decodes with the old model: its result is dropped, unless both
        # are snapshots of one run (a moment older frame of the same training: shown, or a
        # job longer than the snapshots' interval would never show anything while training).
        if not (self.state.live and self._worker_live):
            self._discard_upto = self._token
        self._worker_live = self.state.live
        self._result = None
        self._update_enabled()
        self._update_tiles()
        if self._can_impute() and self.live_check.isChecked():
            self._impute_later()

    # --- the controls ---------------------------------------------------------------------
    def _on_canvas_changed(self) -> None:
        self._dirty = True
        self._update_tiles()
        self._encode_later()
        if self.live_check.isChecked():
            self._impute_later()

    def _on_random_triggered(self) -> None:
        self.load_test_digit(None)

    def _on_load_clicked(self) -> None:
        self.load_test_digit(self.index_spin.value())

    def _on_method_changed(self) -> None:
        method = self.method_combo.currentData()
        if method is None:
            return
        self.steps_spin.blockSignals(True)
        self.steps_spin.setValue(DEFAULT_STEPS.get(method, 1))
        self.steps_spin.blockSignals(False)
        self.show_steps_for(method)
        self._update_enabled()
        self._on_settings_changed()

    def _on_settings_changed(self) -> None:
        self._dirty = True
        self._update_tiles()
        if self.live_check.isChecked() and self._can_impute():
            self._impute_later()

    # --- the worker -----------------------------------------------------------------------
    def _on_runner_busy_changed(self, busy: bool) -> None:
        self.impute_button.setText("Imputing…" if busy else "Impute")
        self._update_tiles()  # "updating…" ends with the last job

    def _on_runner_failed(self, message: str) -> None:
        self._set_message(f"Imputation failed: {message}")

    def _on_runner_returned(self, result: ImputeResult) -> None:
        if result.token <= self._discard_upto:
            return  # the previous model's: never shown as the current one's
        if result.error is not None or result.image is None:
            self._on_runner_failed(result.error or "no image")
            return
        self._result = result
        self._update_tiles()
        label = METHOD_LABELS.get(result.method, result.method)
        steps = (
            "" if result.method == "single" else f", {result.steps} {STEP_NOUNS.get(result.method, 'steps')}"
        )
        missing = int(self.canvas.mask_array().sum())
        if missing == 0:  # unmasked since the request: the fill-ins would be the drawing itself
            self._set_message(self._paint_hint() if self.canvas.is_empty() else NOTHING_MASKED)
            return
        self._set_message(
            f"{label}{steps}: {result.seconds * 1000:.0f} ms · {missing} of {IMAGE_PIXELS} pixels missing"
        )
        self.imputed.emit(result.image.copy())

    # --- helpers --------------------------------------------------------------------------
    def _can_impute(self) -> bool:
        """Imputation needs the app's likelihood (a user's own model from explore() has none)."""
        return self.state.model is not None and hasattr(self.state.model, "decode_logits")

    def _encode(self) -> None:
        """Encode the visible drawing (missing pixels as 0) into state.canvas_posterior and
        hand the drawing to state.canvas_image; None while nothing is drawn or no model."""
        model = self.state.decoder_model
        if model is None or self.canvas.is_empty():
            self.last_encoding = None
            self.show_encoding("")
            self.state.set_canvas_image(None)
            self.state.set_canvas_posterior(None, None)
            return
        x = np.where(self.canvas.mask_array(), 0.0, self.canvas.ink_array()).astype(np.float32)
        mu, logvar = encode_images(model, x.reshape(1, -1))
        self.last_encoding = (mu[0].copy(), logvar[0].copy())
        sigma = vector_text(np.exp(0.5 * logvar[0]), signed=False)
        self.show_encoding(f"Encoded at z = {vector_text(mu[0])}, σ = {sigma}")
        self.state.set_canvas_image(x.reshape(-1))
        self.state.set_canvas_posterior(mu[0], logvar[0])

    def _update_tiles(self) -> None:
        ink, mask = self.canvas.ink_array(), self.canvas.mask_array()
        self.original_tile.set_image(ink)
        self.masked_tile.set_image(ink, mask)
        if self.state.model is None:
            self.imputed_tile.set_image(None, placeholder="no model")
            self.imputed_tile.setEnabled(False)
            return
        self.imputed_tile.setEnabled(True)
        result = self._result
        if result is None or result.image is None or not mask.any():
            if not self._can_impute():
                placeholder = "—"  # not for this model (the message above says why)
            else:
                placeholder = "Impute to fill in" if mask.any() else "nothing masked"
            self.imputed_tile.set_image(None, placeholder=placeholder)
            self.spread_tile.set_image(None, placeholder=placeholder)
            self.draws_strip.set_images(None, placeholder=placeholder)
        else:
            self.imputed_tile.set_image(result.image, outline=mask)
            self.spread_tile.set_image(result.spread)
            top = float(result.spread.max()) if result.spread is not None else 0.0
            self.spread_tile.set_heat_max(max(MIN_SPREAD_SCALE, top))
            self.spread_tile.setToolTip(f"{SPREAD_TIP}<br>Largest spread here: <b>{top:.2f}</b>")
            self.draws_strip.set_images(result.draws, outline=mask)
        if result is None or (not self._dirty and result.token == self._token):
            self.imputed_tile.set_title("Imputed")
        elif self.live_check.isChecked() or self.runner.is_busy():
            self.imputed_tile.set_title("Imputed (updating…)")
        else:
            self.imputed_tile.set_title("Imputed (out of date)")

    def _update_enabled(self) -> None:
        has_model = self.state.model is not None
        can_impute = self._can_impute()
        for widget in (self.impute_button, self.method_combo, self.live_check):
            widget.setEnabled(can_impute)
        self.impute_action.setEnabled(can_impute)
        self.steps_spin.setEnabled(can_impute and self.method_combo.currentData() != "single")
        # A model that cannot impute (a labelled one) has no fill-ins to show: no empty row.
        self.draws_strip.setVisible(can_impute or not has_model)
        test = self.state.test_set
        has_digits = test is not None and len(test) > 0
        for button in (self.random_button, self.load_button):
            button.setEnabled(has_digits)
        self.index_spin.setEnabled(has_digits)
        self.random_action.setEnabled(has_digits)
        if not has_model:
            self._set_message("Load or train a model to encode and impute the drawing.")
        elif not can_impute:
            self._set_message(needs_a_vae(self.state.model, "Imputation") or "")
        elif (
            self.message_label.text().startswith(("Load or train", "Paint")) or not self.message_label.text()
        ):
            self._set_message(self._paint_hint())

    def _paint_hint(self) -> str:
        return f"Paint or load a test {self.item_noun()}, then mask pixels to impute."

    def _set_message(self, text: str) -> None:
        """``text``, after why this model cannot impute if it cannot (the reason stays in
        view whatever the canvas reports, e.g. a test digit loaded)."""
        reason = needs_a_vae(self.state.model, "Imputation")
        if reason and text != reason:
            text = f"{reason} {text}".rstrip()
        self.message_label.setText(text)


def is_digits(classes: list[str]) -> bool:
    """True for MNIST's classes "0" ... "9" (a folder of IDX files uses them too)."""
    return list(classes) == DIGIT_CLASSES

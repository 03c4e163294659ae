"""The training history on show: which epoch the timeline is scrubbed to (or live).

:class:`HistoryScrub` reads the current model's history from its arrays (a checkpoint's,
or the latest training snapshot's, so it grows with a run in progress) and holds the
scrubbed epoch: None means "the model's current state" (live), a number (possibly
fractional) means "the run as it was at that epoch". Views that can show the past
(the scatter, the grid, the decoder preview, the curves) subscribe to ``epochChanged``
and ask it for the latents at that epoch, interpolated between recorded epochs, and for
the model with the weights kept at or before it. A history recorded on other data than the
data on show (another dataset chosen since, or the model's own not on this computer) is not
offered: its points would be coloured by the wrong images' labels.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.checkpoint_file import CheckpointError
from ..core.history import EPOCHS_KEY, Latents, TrainingHistory

if TYPE_CHECKING:
    from ..core.model import VAE
    from .state import ExplorerState

MODELS_KEPT = 4  # models built from kept weights, newest first (each ~1 MB)


class HistoryScrub(QObject):
    """The state's history timeline. ``historyChanged``: the recorded epochs changed (a new
    model, a new snapshot); ``epochChanged``: the scrubbed epoch changed (None: live)."""

    historyChanged = Signal()
    epochChanged = Signal()
    weightsRefused = Signal(str)  # kept weights that cannot be used (once per epoch): why

    def __init__(self, state: ExplorerState, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else state)
        self._state = state
        self._history: TrainingHistory | None = None  # None also when recorded on other data
        self._recorded: TrainingHistory | None = None  # the model's history, whatever its data
        self._epochs_array: Any = None  # the array the history was read from (identity)
        self._epoch: float | None = None
        self._left_quietly = False  # live again, epochChanged still to be sent
        self._models: OrderedDict[int, VAE] = OrderedDict()
        self._unusable: dict[int, str] = {}  # kept-weights epochs that failed: why
        self.error: str | None = None  # why a history could not be read, if it could not
        self.other_data: str | None = None  # the data the history was recorded on, if not shown
        state.modelChanged.connect(self._on_model_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        self._on_model_changed()

    @property
    def state(self) -> ExplorerState:
        """The state whose model's history this follows."""
        return self._state

    # --- what is recorded ------------------------------------------------------------------
    @property
    def history(self) -> TrainingHistory | None:
        return self._history

    @property
    def first(self) -> int | None:
        return self._history.first if self._history is not None else None

    @property
    def last(self) -> int | None:
        return self._history.last if self._history is not None else None

    # --- the scrubbed epoch ----------------------------------------------------------------
    @property
    def epoch(self) -> float | None:
        """The scrubbed epoch, or None (live: the model's current state)."""
        return self._epoch

    @property
    def scrubbing(self) -> bool:
        return self._epoch is not None

    def set_epoch(self, t: float | None) -> None:
        """Show the run at epoch ``t`` (clamped to the recorded span); None: live."""
        history = self._history
        if t is not None:
            if history is None or not np.isfinite(t):
                t = None
            else:
                t = float(min(max(t, history.first), history.last))
        if t != self._epoch:
            self._epoch = t
            self.epochChanged.emit()

    def go_live(self) -> None:
        self.set_epoch(None)

    def leave_for_another_model(self) -> None:
        """Live at once, before the state tells the views of a model of another latent
        size (they redraw on its new dims while the old run's latents and weights would
        still be served); ``epochChanged`` follows with the model's change."""
        if self._epoch is not None:
            self._epoch = None
            self._left_quietly = True

    def latents(self) -> Latents | None:
        """The test latents at the scrubbed epoch, or None when live."""
        history, t = self._history, self._epoch
        if history is None or t is None or self._state.test_set is None:
            return None
        return history.latents(t)

    def weights_epoch(self) -> int | None:
        """The kept-weights epoch shown for the scrubbed epoch (at or before it), or None."""
        history, t = self._history, self._epoch
        if history is None or t is None:
            return None
        return history.weights_epoch(t)

    def model(self) -> VAE | None:
        """The model with the weights kept at or before the scrubbed epoch (None when live
        or when none were kept that early)."""
        epoch = self.weights_epoch()
        history = self._history
        if epoch is None or history is None:
            return None
        if epoch in self._unusable:
            return None
        model = self._models.get(epoch)
        if model is None:
            try:
                model = history.model_at(epoch)
            except (CheckpointError, KeyError, RuntimeError, TypeError, ValueError) as exc:
                self._refuse_weights(epoch, exc)
                return None
            self._models[epoch] = model
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)
        self._models.move_to_end(epoch)
        return model

    def weights_problem(self, epoch: int | None = None) -> str | None:
        """Why the weights kept after ``epoch`` (default: those of the scrubbed epoch) cannot
        be used, once a view has tried them; None if they can (or were not tried yet)."""
        epoch = self.weights_epoch() if epoch is None else epoch
        return self._unusable.get(epoch) if epoch is not None else None

    def _refuse_weights(self, epoch: int, exc: Exception) -> None:
        """Damaged kept weights (NaN, a wrong shape): the views decode with the current
        model instead, and ``weightsRefused`` says so, once per epoch (not at every redraw)."""
        detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        why = (
            f"the weights kept after epoch {epoch} cannot be used: {detail}; "
            "the grid and the decoders show the current model instead"
        )
        self._unusable[epoch] = why  # (not ``error``: the history itself was read)
        self.weightsRefused.emit(why)

    def decode(self, z: Any) -> np.ndarray | None:
        """Mean images [B, 28, 28] of codes ``z`` under the scrubbed epoch's weights, or under
        the current model when live (or without kept weights)."""
        model = self.model()
        if model is None:
            return self._state.decode(z)
        from ..core.latent import decode_latents

        return decode_latents(model, z)

    # --- following the state ---------------------------------------------------------------
    def _on_model_changed(self) -> None:
        arrays = self._state.model_arrays
        epochs = arrays.get(EPOCHS_KEY)
        if epochs is self._epochs_array and epochs is not None:
            return  # the same history (a snapshot between two epochs)
        model = self._state.model
        # The app's VAE config (what model_at builds); other models (a user's own, a
        # labelled one) keep their history's latents but no rebuilt weights.
        config = None
        if model is not None:  # torch is loaded once there is a model
            from ..core.model import VAE

            config = model.config.to_dict() if isinstance(model, VAE) else None
        self.error = None
        try:
            history = TrainingHistory.from_arrays(arrays, config)
        except CheckpointError as exc:
            history, self.error = None, str(exc)
        if history is not None and model is not None and history.test_mu.shape[2] != model.latent_dim:
            history, self.error = None, "the history's latents do not match the model's latent size"
        same_run = (
            history is not None
            and self._history is not None
            and self._state.training
            and history.test_mu.shape[1:] == self._history.test_mu.shape[1:]
        )
        self._recorded = history
        self._history = self._for_shown_data(history)
        self._epochs_array = epochs
        if not same_run:
            self._models.clear()
            self._unusable.clear()
        self.historyChanged.emit()
        # A run in progress keeps a scrubbed-back epoch; another model returns to live.
        if same_run and self._epoch is not None and history is not None:
            self.set_epoch(self._epoch)
        elif self._epoch is not None or self._left_quietly:
            self._epoch = None
            self._left_quietly = False
            self.epochChanged.emit()

    def _on_dataset_changed(self) -> None:
        history = self._for_shown_data(self._recorded)
        if history is self._history:
            return
        self._history = history
        self.historyChanged.emit()
        if history is None and self._epoch is not None:
            self._epoch = None
            self.epochChanged.emit()

    def _for_shown_data(self, history: TrainingHistory | None) -> TrainingHistory | None:
        """``history`` if it was recorded on the test set on show, else None (and
        ``other_data`` names the data it was recorded on)."""
        self.other_data = None
        if history is None:
            return None
        recorded = self._state.model_meta.get("dataset")
        test = self._state.test_set
        if test is not None and history.test_mu.shape[1] != len(test):
            self.other_data = _data_title(recorded) if isinstance(recorded, str) else "other data"
            return None
        if not isinstance(recorded, str):  # (a user's own model: its data is the data shown)
            return history
        from ..core.data import DatasetRef

        try:
            shown = DatasetRef.from_key(self._state.dataset_key).metadata_name
        except Exception:  # a folder that vanished: nothing can be matched to it
            shown = None
        if recorded != shown:
            self.other_data = _data_title(recorded)
            return None
        return history


def _data_title(recorded: str) -> str:
    """A dataset as a checkpoint records it, as the user knows it."""
    from ..core.data import DATASETS

    info = DATASETS.get(recorded)
    return info.title if info is not None else "a folder of IDX files"

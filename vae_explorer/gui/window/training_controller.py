"""Runs core's training job in the background and turns its events into app state.

The job (core's ``run_job``, or ``run_labelled_job`` for a labelled model: the same events)
runs in a worker thread and owns its model; the GUI only ever
gets copies (a Snapshot's state dict and numpy latents, made by core). Snapshots become the
state's current model at most every ``SNAPSHOT_INTERVAL_MS`` (the latest one wins); the
final one always does. Pause and stop go through core's thread-safe ``TrainingControl``:
stop acts within one batch; a pause first brings the weights the run stopped at (core's
loop hands them over before it waits), so the views show the paused model.

While a run trains, the interpreter's switch interval is lowered (``TRAINING_SWITCH_S``): the
training step releases the GIL in each of its ~40 torch calls per batch, and each time the GUI
thread runs Python (a click, a paint) the step waits to get it back, up to the interval
(5 ms by default): ~40 such waits a batch. The GUI's own decodes wait the same way for the
training thread's Python. Measured on 2 cores with clicks every 250 ms: 86% -> 92% of the
headless rate and click -> decoded p95 21 -> 17 ms (benchmarks/gui_bench.py).
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal
from superqt.utils import qthrottled

from ...core.labelled import LabelledConfig, LabelledJob, run_labelled_job
from ...core.model import VAE
from ...core.training import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainingControl,
    TrainingFailed,
    TrainingFinished,
    TrainingJob,
    TrainingStarted,
    run_job,
)
from ..labelled import ExplorerLabelledModel
from ..state import ExplorerState
from ..workers import Worker

SNAPSHOT_INTERVAL_MS = 250
TRAINING_SWITCH_S = 0.0005  # the GIL switch interval while a run trains (module doc)
# torch's intra-op thread count at start-up, before the GUI thread lowers its own: the same
# default the headless CLI trains with.
DEFAULT_TORCH_THREADS = torch.get_num_threads()
_prepared = False


def prepare_runtime() -> None:
    """Warm torch's optimizer up before the first run; once per process (thread-safe to
    call from the start-up's background step, which does it after the first paint).

    The first torch optimizer imports ~800 modules (torch._dynamo, sympy...), holding the
    GIL for about a second: done in the training worker, that would freeze the window just
    as the first training run starts.
    """
    global _prepared
    if _prepared:
        return
    _prepared = True
    param = torch.zeros(1, requires_grad=True)
    try:
        torch.optim.Adam([param], lr=1e-3, fused=True)
    except (RuntimeError, TypeError):
        torch.optim.Adam([param], lr=1e-3)


class _Shown(NamedTuple):
    """What the state shows of a model, to put back as it was."""

    model: Any
    meta: dict[str, Any]
    path: Any
    latents: tuple[np.ndarray, np.ndarray] | None
    arrays: dict[str, np.ndarray]
    history: list[dict[str, Any]]
    modified: bool

    @classmethod
    def of(cls, state: ExplorerState) -> _Shown | None:
        if state.model is None:
            return None
        return cls(
            state.model, dict(state.model_meta), state.model_path, state.latents,
            dict(state.model_arrays), list(state.history), state.modified,
        )  # fmt: skip

    def restore(self, state: ExplorerState) -> None:
        state.set_model(
            self.model, self.meta, self.path, self.latents, modified=self.modified, arrays=self.arrays or None
        )
        state.set_history(self.history)


class TrainingController(QObject):
    """At most one run at a time. Signals are the run's events, on the GUI thread; ``done``
    (a TrainingFinished) always comes last, also after a failure."""

    started = Signal(object)  # TrainingStarted
    batchMetrics = Signal(object)  # BatchMetrics
    epochFinished = Signal(object)  # EpochSummary
    snapshotApplied = Signal(object)  # Snapshot, once it is the state's current model
    failed = Signal(str)  # a message for the user
    done = Signal(object)  # TrainingFinished

    def __init__(self, state: ExplorerState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.control = TrainingControl()
        self.job: TrainingJob | LabelledJob | None = None
        self.snapshots_applied = 0
        self._worker: Worker | None = None
        self._finished: TrainingFinished | None = None
        self._failed = False
        self._latest: Snapshot | None = None
        self._before: _Shown | None = None  # the model the run replaces, until it trains one
        self._switch_before: float | None = None  # the interval to put back when the run ends
        self._apply_later = qthrottled(self._apply_latest, timeout=SNAPSHOT_INTERVAL_MS, leading=True)

    # --- control ---------------------------------------------------------------------------
    def is_running(self) -> bool:
        """A run was started and its end (``done``) has not been delivered yet."""
        return self._worker is not None

    @property
    def failed_run(self) -> bool:
        return self._failed

    def start(self, job: TrainingJob | LabelledJob) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already in progress")
        self.control = TrainingControl()
        self.job, self._finished, self._failed, self._latest = job, None, False, None
        self._before = _Shown.of(self.state)
        threads = job.torch_threads or DEFAULT_TORCH_THREADS
        run = run_labelled_job if isinstance(job, LabelledJob) else run_job
        worker = Worker(
            run, job, self.control, name="vae-training", setup=lambda: torch.set_num_threads(threads)
        )
        worker.yielded.connect(self._on_worker_yielded)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.state.set_training(True)
        if self._switch_before is None:
            self._switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_before, TRAINING_SWITCH_S))
        worker.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the run to stop; with ``wait_ms``, block until it has ended and its final
        snapshot and ``done`` were delivered (True), or the time ran out (False)."""
        self.control.stop()
        worker = self._worker
        if worker is None:
            return True
        return worker.wait(wait_ms) if wait_ms else False

    # --- events ----------------------------------------------------------------------------
    def _on_worker_yielded(self, ev: object) -> None:
        if isinstance(ev, BatchMetrics):
            self.batchMetrics.emit(ev)
        elif isinstance(ev, Snapshot):
            if self._failed and not ev.history:
                return  # the failed run never trained: its start model is not wanted (the old one comes back)
            if not all(bool(torch.isfinite(t).all()) for t in ev.state_dict.values()):
                return  # never let blown-up weights become the current model
            self._latest = ev
            self._apply_later()
        elif isinstance(ev, EpochSummary):
            self.epochFinished.emit(ev)
        elif isinstance(ev, TrainingStarted):
            self.started.emit(ev)
        elif isinstance(ev, TrainingFailed):
            self._on_worker_failed(ev.message)
        elif isinstance(ev, TrainingFinished):
            self._finished = ev

    def _on_worker_failed(self, message: str) -> None:
        self._failed = True
        self.failed.emit(message)

    def _apply_latest(self) -> None:
        snap, self._latest = self._latest, None
        if snap is None:
            return
        state = self.state
        current = state.model
        # Reuse the state's own copy when the shapes match: loading weights is far cheaper
        # than building and randomly initialising a new network.
        labelled = isinstance(snap.config, LabelledConfig)
        cls = ExplorerLabelledModel if labelled else VAE
        before = self._before.model if self._before is not None else None
        same = (
            current is not None
            and current is not before  # kept intact: a run that fails before it trains puts it back
            and type(current) is cls
            and current.config == snap.config
        )
        model: Any = current if same else cls(snap.config)
        model.load_state_dict(snap.state_dict)
        mu, logvar = snap.test_mu, snap.test_logvar
        latents = (mu, logvar) if mu is not None and logvar is not None else None
        arrays = getattr(snap, "arrays", None) or None  # the weights' test latents, when core sends them
        # The run's initial weights (or a run stopped before its first batch) are shown but
        # hold nothing to save.
        trained = bool(snap.history) or snap.batch > 0
        if trained:
            self._before = None
        live = self.is_running()
        state.set_model(model, snap.metadata, None, latents, live=live, modified=trained, arrays=arrays)
        state.set_history(snap.history)
        self.snapshots_applied += 1
        self.snapshotApplied.emit(snap)

    def _on_worker_finished(self) -> None:
        self._worker = None
        if self._switch_before is not None:
            sys.setswitchinterval(self._switch_before)
            self._switch_before = None
        self._apply_later.cancel()
        self._apply_latest()  # the last snapshot becomes the current model, not live
        if self._failed and self._before is not None:
            self._before.restore(self.state)  # failed before it trained: the old model is back
        self._before = None
        finished = self._finished or TrainingFinished(0, True, [])
        self.state.set_training(False)
        self.done.emit(finished)

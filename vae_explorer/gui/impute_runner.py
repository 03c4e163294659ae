"""Run canvas imputations off the GUI thread, newest request first, never backlogged.

One worker thread holds at most one running job; a request made while it is busy waits
in a single "pending" slot that each newer request overwrites. So however fast the user
paints, the worker only ever computes the most recent canvas after the current job.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

METHOD_LABELS = {
    "single": "Single pass",
    "pseudo_gibbs": "Pseudo-Gibbs",
    "mwg": "Metropolis-within-Gibbs",
    "importance": "Importance-weighted",
}


def imputation_backend() -> ModuleType | None:
    """``vae_explorer.core.imputation`` if it imports, else None (imputation unavailable)."""
    try:
        from ..core import imputation
    except Exception:  # noqa: BLE001 - a broken backend must not take the canvas down
        return None
    return imputation if hasattr(imputation, "impute") else None


def available_methods() -> tuple[str, ...]:
    """The methods the backend offers, in its own order."""
    backend = imputation_backend()
    if backend is None:
        return ()
    return tuple(getattr(backend, "METHODS", ("single",)))


def default_steps(method: str) -> int:
    backend = imputation_backend()
    steps = getattr(backend, "DEFAULT_STEPS", {}) if backend is not None else {}
    return int(steps.get(method, 1))


@dataclass(frozen=True)
class ImputeRequest:
    """One image to impute. ``model`` is a copy only the worker thread uses."""

    token: int
    model: Any
    image: np.ndarray  # float32 [784] in [0, 1]
    mask: np.ndarray  # bool [784], True = missing
    method: str
    steps: int
    seed: int = 0


@dataclass(frozen=True)
class ImputeResult:
    token: int
    method: str
    steps: int
    image: np.ndarray | None  # float32 [28, 28], None on error
    seconds: float
    error: str | None = None


def run_request(request: ImputeRequest) -> ImputeResult:
    """Impute one request with the core backend (any thread); errors become a message."""
    start = time.perf_counter()
    backend = imputation_backend()
    try:
        if backend is None:
            raise RuntimeError("the imputation module (vae_explorer.core.imputation) is missing")
        out = backend.impute(
            request.model,
            request.image[None, :],
            request.mask[None, :],
            method=request.method,
            steps=request.steps,
            seed=request.seed,
        )
        image = out.detach().cpu().numpy().reshape(28, 28).astype(np.float32, copy=True)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported to the user, not swallowed
        image, error = None, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return ImputeResult(
        request.token, request.method, request.steps, image, time.perf_counter() - start, error
    )


class _Worker(QObject):
    done = Signal(object)

    @Slot(object)
    def run(self, request: ImputeRequest) -> None:
        self.done.emit(run_request(request))


class ImputeRunner(QObject):
    """Submit requests from the GUI thread; ``finished(ImputeResult)`` comes back on it."""

    finished = Signal(object)
    busy_changed = Signal(bool)
    _start = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("canvas-imputation")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._start.connect(self._worker.run)
        self._worker.done.connect(self._on_job_done)
        self._busy = False
        self._pending: ImputeRequest | None = None
        self._thread.start()
        keep = (self._thread, self._worker)  # alive until the thread has stopped

        def stop() -> None:
            thread = keep[0]
            try:
                if thread.isRunning():
                    thread.quit()
                    thread.wait()
            except RuntimeError:  # already deleted at interpreter exit
                pass

        self._stop = stop
        self.destroyed.connect(stop)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(stop)

    def is_busy(self) -> bool:
        return self._busy

    def submit(self, request: ImputeRequest) -> None:
        """Run ``request`` now, or after the current job (replacing any older pending one)."""
        if self._busy:
            self._pending = request
            return
        self._busy = True
        self.busy_changed.emit(True)
        self._start.emit(request)

    def shutdown(self) -> None:
        """Drop the pending request and stop the worker thread (waits for a running job)."""
        self._pending = None
        self._stop()

    @Slot(object)
    def _on_job_done(self, result: ImputeResult) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and self._thread.isRunning():
            self._start.emit(pending)
        else:
            self._busy = False
            self.busy_changed.emit(False)
        self.finished.emit(result)

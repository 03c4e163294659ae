"""Training in ONE worker thread: a QObject that iterates core's ``train`` generator and
re-emits each event as a signal (queued to the GUI thread).

The worker owns its model; the GUI only ever sees copies (Snapshot state dicts and numpy
latents made by core). Pause/stop go through core's thread-safe ``TrainingControl``, so
they work while ``run`` never returns to this thread's event loop.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

import torch
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from ..core.data import DatasetError, load_dataset
from ..core.devices import DeviceError
from ..core.latent import encode_images
from ..core.model import VAE, ConfigError, VAEConfig
from ..core.training import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainConfig,
    TrainingControl,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    state_dict_copy,
    train,
)

# torch's intra-op thread count at start-up (before the GUI thread lowers its own), the
# same default the headless CLI trains with.
DEFAULT_TORCH_THREADS = torch.get_num_threads()


_prepared = False
_orphans: list[QThread] = []  # threads that outlived a closed window, until they finish


def prepare_runtime() -> None:
    """Warm torch up in the GUI thread before the window shows; once per process.

    The first torch optimizer imports ~800 modules (torch._dynamo, sympy...), holding the
    GIL for about a second: done in the worker, that would freeze the window just as the
    first training run starts.
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


@dataclass(frozen=True)
class TrainingJob:
    """Everything a run needs: what to build, how to train, on which data."""

    model_config: VAEConfig
    train_config: TrainConfig
    dataset: str = "mnist"
    data_root: str | None = None
    train_limit: int | None = None  # use only the first N training images (tests, demos)
    torch_threads: int | None = None  # intra-op threads for the worker; None = torch default
    extra: dict[str, Any] = field(default_factory=dict)


class TrainingWorker(QObject):
    """Runs one :class:`TrainingJob`; emit order: started, (batch|epoch|snapshot)*, done."""

    started = Signal(object)  # TrainingStarted
    batchMetrics = Signal(object)  # BatchMetrics
    epochFinished = Signal(object)  # EpochSummary
    snapshotReady = Signal(object)  # Snapshot
    failed = Signal(str)  # a message for the user
    done = Signal(object)  # TrainingFinished (always last, also after a failure)

    def __init__(self, job: TrainingJob, control: TrainingControl) -> None:
        super().__init__()
        self.job = job
        self.control = control

    def run(self) -> None:
        """The thread's body. Never raises: every error becomes ``failed`` then ``done``."""
        finished: TrainingFinished | None = None
        try:
            job = self.job
            torch.set_num_threads(job.torch_threads or DEFAULT_TORCH_THREADS)
            train_set = load_dataset(job.dataset, "train", root=job.data_root)
            test_set = load_dataset(job.dataset, "test", root=job.data_root)
            images = train_set.images[: job.train_limit] if job.train_limit else train_set.images
            torch.manual_seed(job.train_config.seed)
            model = VAE(job.model_config)
            events = train(model, images, job.train_config, test_set.images, self.control)
            for ev in events:
                if isinstance(ev, BatchMetrics):
                    self.batchMetrics.emit(ev)
                elif isinstance(ev, Snapshot):
                    self.snapshotReady.emit(ev)
                elif isinstance(ev, EpochSummary):
                    self.epochFinished.emit(ev)
                elif isinstance(ev, TrainingStarted):
                    self.started.emit(ev)
                elif isinstance(ev, TrainingFailed):
                    self.failed.emit(ev.message)
                elif isinstance(ev, TrainingFinished):
                    finished = ev
            if finished is not None and finished.stopped:
                # A stop mid-epoch: hand over the weights as they are now.
                mu, logvar = encode_images(model, test_set.images)
                self.snapshotReady.emit(
                    Snapshot(
                        finished.epochs_completed,
                        0,
                        state_dict_copy(model),
                        model.config,
                        mu,
                        logvar,
                    )
                )
        except (DatasetError, DeviceError, ConfigError) as exc:
            # The user's input (data, device, settings): a message, not a crash report.
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - every error must reach the window
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.emit(finished or TrainingFinished(0, True, []))


class TrainingRunner(QObject):
    """Owns the QThread and worker of the current run; at most one run at a time."""

    started = Signal(object)
    batchMetrics = Signal(object)
    epochFinished = Signal(object)
    snapshotReady = Signal(object)
    failed = Signal(str)
    done = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self.control = TrainingControl()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, job: TrainingJob) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already in progress")
        self.control = TrainingControl()
        thread = QThread()
        thread.setObjectName("vae-training")
        worker = TrainingWorker(job, self.control)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        for name in ("started", "batchMetrics", "epochFinished", "snapshotReady", "failed"):
            getattr(worker, name).connect(getattr(self, name))
        worker.done.connect(self._on_worker_done)
        self._thread, self._worker = thread, worker
        thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the run to stop; with ``wait_ms`` block until the thread ends (True if it did)."""
        self.control.stop()
        thread = self._thread
        if thread is None:
            return True
        if wait_ms:
            thread.quit()
            ok = thread.wait(wait_ms)
            if ok:
                self._cleanup()
            else:
                # Still busy (e.g. reading a slow disk): let the thread outlive its owner
                # instead of destroying a running QThread, and let it delete itself.
                _orphans.append(thread)
                thread.setParent(QCoreApplication.instance())
                thread.finished.connect(thread.deleteLater)
                thread.finished.connect(lambda: _orphans.remove(thread))
                self._thread = self._worker = None
            return ok
        return not thread.isRunning()

    def _on_worker_done(self, finished: TrainingFinished) -> None:
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
        self._cleanup()
        self.done.emit(finished)

    def _cleanup(self) -> None:
        if self._worker is not None:
            self._worker.deleteLater()
        if self._thread is not None:
            self._thread.deleteLater()
        self._thread = self._worker = None

"""What the training loop yields, and the flags a consumer uses to pause or stop it.

Events are small frozen dataclasses; the consumer (CLI progress bar, Qt worker, tests)
decides what to do with each. Snapshots carry copies the consumer owns outright.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import torch


@dataclass(frozen=True)
class TrainingStarted:
    device: str
    epochs: int
    batches_per_epoch: int
    train_images: int


@dataclass(frozen=True)
class BatchMetrics:
    """Running means over the last ``log_every`` batches, per image, in nats."""

    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    batches_per_epoch: int
    loss: float
    recon: float
    kl: float
    images_per_second: float

    @property
    def progress(self) -> float:
        """Epochs done as a real number (for plotting batch metrics on an epoch axis)."""
        return self.epoch - 1 + self.batch / self.batches_per_epoch


@dataclass(frozen=True)
class EpochSummary:
    epoch: int
    epochs: int
    train_loss: float
    train_recon: float
    train_kl: float
    test_elbo: float | None
    test_recon: float | None
    test_kl: float | None
    seconds: float  # training time of this epoch, evaluation excluded
    lr: float

    def record(self) -> dict[str, Any]:
        """This epoch as one entry of the training history (checkpoint metadata "history")."""
        return {k: v for k, v in self.__dict__.items() if k != "epochs"}


@dataclass(frozen=True)
class Snapshot:
    """A copy of the model the consumer owns: CPU weights and, if a test set was given,
    the encoded test latents (posterior means and log-variances).

    ``epoch``/``batch``: taken after ``batch`` batches of epoch ``epoch`` (1-based).
    ``history``: the per-epoch records so far (a copy). ``metadata``: filled in by a
    :func:`~vae_explorer.core.training.job.run_job` run, the checkpoint metadata for
    exactly these weights (dataset, epochs_completed, train_config, command, history).
    ``arrays``: filled in by run_job, the checkpoint arrays for these weights: ``test_mu``
    and ``test_logvar`` (float32, these weights' latents) and the training history of the
    completed epochs (names in :mod:`vae_explorer.core.history`). Shared and read-only.
    """

    epoch: int
    batch: int
    state_dict: dict[str, torch.Tensor]
    config: Any
    test_mu: np.ndarray | None
    test_logvar: np.ndarray | None
    history: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingFailed:
    """The run stopped on an error; the model holds the last good weights."""

    message: str
    epoch: int
    batch: int


@dataclass(frozen=True)
class TrainingFinished:
    """Always the last event of a run (a :func:`run_job` run also after a failure).

    ``metadata`` (from :func:`run_job`): the final checkpoint metadata, with the final
    model's "test_metrics" and "train_seconds". ``arrays``: the final snapshot's arrays.
    """

    epochs_completed: int
    stopped: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


TrainingEvent: TypeAlias = (
    TrainingStarted | BatchMetrics | EpochSummary | Snapshot | TrainingFailed | TrainingFinished
)


class TrainingControl:
    """Thread-safe pause/stop flags shared between a consumer and the training loop."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop

    def pause(self) -> None:
        """Pause before the next batch. :func:`~.loop.train` first hands over a Snapshot of
        the weights as they are (so live views show the paused model), then waits."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        while not self._running.wait(timeout=0.1):
            pass

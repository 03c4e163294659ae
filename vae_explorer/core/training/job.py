"""One training run from settings to checkpoint, shared by the CLI and the window.

:func:`run_job` loads the data, builds the model and runs :func:`train`, adding to every
:class:`Snapshot` (and to the closing :class:`TrainingFinished`) the checkpoint metadata
for those weights and the checkpoint arrays (these weights' test latents and the training
history so far, :mod:`..history`), so no consumer rebuilds the history or the metadata
itself. A run
always ends with a Snapshot of the final weights, then TrainingFinished: after a normal
end, a stop (from the loop) and a failure (the last good weights, from here) alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import DatasetError, DatasetRef
from ..evaluation import evaluate
from ..history import HistoryRecorder
from ..model import VAE, VAEConfig
from .config import TrainConfig
from .events import Snapshot, TrainingControl, TrainingEvent, TrainingFailed, TrainingFinished
from .loop import take_snapshot, train


@dataclass(frozen=True)
class TrainingJob:
    """Everything a run needs: what to build, how to train, on which data."""

    model_config: VAEConfig
    train_config: TrainConfig
    dataset: str = "mnist"  # a DatasetRef key: "mnist", "fashion-mnist" or a folder's path
    train_limit: int | None = None  # first N training images only (tests, demos)
    torch_threads: int | None = None  # intra-op CPU threads; None = leave torch's setting
    command: str = ""  # recorded in the checkpoint metadata
    download: bool = False  # fetch a missing downloadable dataset first

    @property
    def dataset_ref(self) -> DatasetRef:
        return DatasetRef.from_key(self.dataset)

    def metadata(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """Checkpoint metadata for weights trained for ``len(history)`` whole epochs."""
        return {
            "dataset": self.dataset_ref.metadata_name,
            "command": self.command,
            "train_config": self.train_config.to_dict(),
            "epochs_completed": len(history),
            "history": [dict(r) for r in history],
        }


def run_job(job: TrainingJob, control: TrainingControl | None = None) -> Iterator[TrainingEvent]:
    """Run ``job``, yielding :func:`train`'s events with metadata added (see module doc).

    DatasetError (missing or malformed data), ConfigError and DeviceError are raised before
    the first event: they are the user's to fix. TrainingFinished.metadata also holds the
    final model's "test_metrics" (:func:`evaluate`) and "train_seconds".
    """
    ref = job.dataset_ref
    train_set = ref.load("train", download=job.download)
    test_set = ref.load("test", download=job.download)
    for split, data in (("training", train_set), ("test", test_set)):
        if len(data) == 0:
            if ref.root is not None:  # (the title is "Folder: <its name>": the folder once)
                raise DatasetError(f"the {split} split in {ref.root} holds no images")
            raise DatasetError(f"{ref.title}: the {split} split holds no images")
    images = train_set.images[: job.train_limit] if job.train_limit else train_set.images
    if job.torch_threads:
        torch.set_num_threads(job.torch_threads)
    torch.manual_seed(job.train_config.seed)
    model = VAE(job.model_config)
    events = train(model, images, job.train_config, test_set.images, control)
    started = time.perf_counter()
    history: list[dict[str, Any]] = []
    weight_bytes = sum(p.numel() * 4 for p in model.parameters())
    recorder = HistoryRecorder(
        job.train_config.epochs, len(test_set), job.model_config.latent_dim, weight_bytes
    )
    arrays: dict[str, Any] = {}

    def completed(snapshot: Snapshot) -> Snapshot:
        nonlocal arrays
        if snapshot.epoch and len(snapshot.history) == snapshot.epoch:  # at an epoch's end
            recorder.record(snapshot.epoch, snapshot.state_dict, snapshot.test_mu, snapshot.test_logvar)
        arrays = recorder.arrays()
        if snapshot.test_mu is not None and snapshot.test_logvar is not None:
            arrays["test_mu"], arrays["test_logvar"] = snapshot.test_mu, snapshot.test_logvar
        return replace(snapshot, metadata=job.metadata(snapshot.history), arrays=arrays)

    def finish(event: TrainingFinished) -> TrainingFinished:
        seconds = time.perf_counter() - started
        metadata = job.metadata(event.history)
        metadata["test_metrics"] = evaluate(model, test_set.images)
        metadata["train_seconds"] = round(seconds, 2)
        return replace(event, metadata=metadata, arrays=dict(arrays))

    for event in events:
        if isinstance(event, Snapshot):
            history = event.history
            yield completed(event)
        elif isinstance(event, TrainingFinished):
            yield finish(event)
        elif isinstance(event, TrainingFailed):
            yield event
            # The loop has put the last good weights back: they are the run's result.
            yield completed(take_snapshot(model, test_set.images, event.epoch, event.batch, history))
            yield finish(TrainingFinished(len(history), True, [dict(r) for r in history]))
            return
        else:
            yield event


def model_from_snapshot(snapshot: Snapshot) -> Any:
    """A fresh CPU model holding the snapshot's weights, in eval mode: a VAE, or a labelled
    model (core/labelled) for a labelled run's snapshot."""
    from ..labelled import LabelledConfig, LabelledModel  # labelled imports this package

    model = (
        LabelledModel(snapshot.config)
        if isinstance(snapshot.config, LabelledConfig)
        else VAE(snapshot.config)
    )
    model.load_state_dict(snapshot.state_dict)
    return model.eval()


def save_snapshot(
    path: str | os.PathLike[str], snapshot: Snapshot, metadata: dict[str, Any] | None = None
) -> Path:
    """Save a snapshot as a checkpoint (atomically) with ``metadata``, by default its own,
    and its arrays (test latents, training history); pass the closing
    ``TrainingFinished.metadata`` to record the final metrics too."""
    # Imported here: checkpoints imports the labelled models, whose job imports training.
    from ..checkpoints import save_checkpoint

    return save_checkpoint(
        model_from_snapshot(snapshot),
        path,
        snapshot.metadata if metadata is None else metadata,
        # Writable copies: the snapshot's arrays are read-only, which torch warns about.
        arrays={name: np.array(value) for name, value in snapshot.arrays.items()},
    )

"""The settings of one labelled run (:class:`LabelledJob`) and the checkpoint metadata they
give; :mod:`.job` runs it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import DatasetRef
from ..model import ConfigError
from ..training.config import TrainConfig
from .model import LabelledConfig

INDICES_KEY = "labelled_indices"
LABELLED_WEIGHTS = ("paper", "batch")


def phase_epochs(history: list[dict[str, Any]], phase: str) -> int:
    """How many of ``history``'s epoch records are of ``phase`` ("m1" or "m2")."""
    return sum(1 for r in history if r.get("phase") == phase)


@dataclass(frozen=True)
class LabelledJob:
    """A labelled run. ``labels``: how many training images keep their label (balanced
    over classes; None = all, a conditional VAE). ``train_config`` drives M2; M1 uses the
    VAE's defaults for ``m1_epochs`` epochs with the same seed, device and KL warm-up (M2
    itself has none). With ``pretrained_m1`` no M1 epoch runs and ``m1_epochs`` records
    how long that M1 was trained (0: not known)."""

    model_config: LabelledConfig
    train_config: TrainConfig
    labels: int | None = 100
    alpha: float = 0.1  # the paper's alpha = 0.1 N, per image
    m1_epochs: int = 30
    labelled_batch: int = 100
    dataset: str = "mnist"
    train_limit: int | None = None
    torch_threads: int | None = None
    command: str = ""
    download: bool = False
    # "paper": each labelled image weighs N_l / N of the batch's loss, the unbiased estimate
    # of the paper's J_alpha; "batch": labelled and unlabelled images weigh as they come in
    # the batch, i.e. the few labels are oversampled (as common reimplementations do). The
    # default: it classifies better here with 100 labels, and the shipped models use it.
    labelled_weight: str = "batch"
    # M1+M2: a trained VAE (M1) to use instead of training one (its config must match).
    pretrained_m1: Any = None
    # M1+M2: M2 models only M1's active units (M1 is cut down to them before M2 trains).
    m1_active_only: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            raise ConfigError(f"alpha must be a number >= 0, got {self.alpha!r}")
        if self.labelled_weight not in LABELLED_WEIGHTS:
            raise ConfigError(
                f"labelled_weight must be one of {LABELLED_WEIGHTS}, got {self.labelled_weight!r}"
            )
        if self.labelled_batch < 1:
            raise ConfigError(f"labelled_batch must be >= 1, got {self.labelled_batch!r}")
        least = 1 if self.pretrained_m1 is None else 0  # a given M1's: 0 = not recorded
        if self.m1_epochs < least:
            raise ConfigError(f"m1_epochs must be >= {least}, got {self.m1_epochs!r}")

    @property
    def dataset_ref(self) -> DatasetRef:
        return DatasetRef.from_key(self.dataset)

    @property
    def m1_epochs_to_run(self) -> int:
        """The VAE epochs this job trains itself: none for M2, or for an M1 given to it."""
        return self.m1_epochs if self.model_config.kind == "m1m2" and self.pretrained_m1 is None else 0

    def _m1_epochs_trained(self, history: list[dict[str, Any]]) -> int:
        """M1's epochs in these weights: those run so far (a run stopped, or a snapshot, in
        the M1 phase has fewer than asked for), or as recorded for a given M1."""
        if self.model_config.kind != "m1m2":
            return 0
        if self.m1_epochs_to_run:
            return phase_epochs(history, "m1")
        return self.m1_epochs

    def metadata(
        self, history: list[dict[str, Any]], labelled: np.ndarray, m1_kept: np.ndarray | None = None
    ) -> dict[str, Any]:
        """Checkpoint metadata; "labels" is the number of labelled training images;
        "m1_kept_dims" (only when M1 was cut down): which of its latent units M2 models."""
        return {
            "dataset": self.dataset_ref.metadata_name,
            "command": self.command,
            "kind": self.model_config.kind,
            "labels": int(labelled.shape[0]),
            "all_labels": self.labels is None,
            "alpha": self.alpha,
            "m1_epochs": self._m1_epochs_trained(history),
            "m1_pretrained": self.pretrained_m1 is not None,
            "labelled_batch": self.labelled_batch,
            "labelled_weight": self.labelled_weight,
            "train_config": self.train_config.to_dict(),
            "epochs_completed": phase_epochs(history, "m2"),
            "history": [dict(r) for r in history],
            **({} if m1_kept is None else {"m1_kept_dims": [int(i) for i in m1_kept]}),
        }

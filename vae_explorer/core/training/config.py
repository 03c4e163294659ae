"""Optimisation settings of a training run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..model import ConfigError

LR_SCHEDULES = ("constant", "cosine")
MATMUL_PRECISIONS = ("auto", "float32", "bfloat16")


def use_bf16_products(precision: str, device: torch.device) -> bool:
    """Whether the MLP step should run its large products in bf16 for this setting."""
    if precision == "bfloat16":
        return True
    if precision == "float32" or device.type != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. ``beta`` weights the KL term (1 = the true ELBO)."""

    epochs: int = 50
    batch_size: int = 100
    # A peak rate of 3e-3 annealed to 0 by a cosine reaches a better test ELBO in 50 epochs
    # than a constant 1e-3 (-145.x vs -148.7 nats on MNIST; see benchmarks/train_bench.py).
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    ema_decay: float = 0.0  # > 0: evaluate and keep an exponential moving average of weights
    # "bfloat16": the MLP's five large products in bf16 (weights, activations and Adam stay
    # fp32); "auto" does so on CPUs with native bf16, where it trains ~1.6x faster.
    matmul_precision: str = "auto"
    beta: float = 1.0
    # KL warm-up (Sønderby et al. 2016): the KL weight climbs linearly from ~0 to beta over
    # this many epochs, so fewer latent units collapse to the prior early in a run.
    kl_warmup_epochs: float = 0.0
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    # Batches between mid-epoch snapshots, for live views: with it (> 0) the run also hands
    # over its initial weights before the first batch (epoch 0), so a view never shows the
    # model a new run replaces. 0 = snapshots at epoch ends only.
    snapshot_every: int = 0
    # With snapshot_every: also a snapshot once this many seconds of training have passed
    # since the last (live_snapshots.py). 0 = by batches only.
    snapshot_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "log_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr!r}")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ConfigError(f"KL weight beta must be a number >= 0, got {self.beta!r}")
        warmup = self.kl_warmup_epochs
        if isinstance(warmup, bool) or not (isinstance(warmup, (int, float)) and 0 <= warmup < math.inf):
            raise ConfigError(f"KL warm-up must be a number of epochs >= 0, got {warmup!r}")
        if self.snapshot_every < 0:
            raise ConfigError(f"snapshot_every must be >= 0, got {self.snapshot_every!r}")
        seconds = self.snapshot_seconds
        if isinstance(seconds, bool) or not (isinstance(seconds, (int, float)) and 0 <= seconds < math.inf):
            raise ConfigError(f"snapshot_seconds must be a number of seconds >= 0, got {seconds!r}")
        if not (isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1):
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if self.matmul_precision not in MATMUL_PRECISIONS:
            raise ConfigError(
                f"matmul_precision must be one of {MATMUL_PRECISIONS}, got {self.matmul_precision!r}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")

    def beta_at(self, step: int, batches_per_epoch: int) -> float:
        """The KL weight for training step ``step`` (0-based): beta, or during the KL
        warm-up beta x (step + 1) / (warm-up steps)."""
        warmup_steps = self.kl_warmup_epochs * batches_per_epoch
        if warmup_steps <= 0:
            return float(self.beta)
        return float(self.beta) * min(1.0, (step + 1) / warmup_steps)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (checkpoint metadata "train_config")."""
        return asdict(self)

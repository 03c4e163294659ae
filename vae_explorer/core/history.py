"""The training history kept in a checkpoint: each epoch's test latents, and the weights
at a budget of epochs, so the organising latent space can be replayed after training.

Arrays (names are a contract with the window and the CLI):

- ``history/epochs`` int32 [E]: the epochs whose latents were recorded (ascending);
- ``history/test_mu``, ``history/test_logvar`` float16 [E, N_test, d]: those latents;
- ``history/weights/<epoch:04d>/<param name>`` float16: the weights after that epoch.

:class:`HistoryRecorder` builds them during a run (:func:`..training.job.run_job`);
:class:`TrainingHistory` reads them back. Reading needs numpy only; :meth:`model_at`
imports torch when called.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .checkpoint_file import CheckpointError

if TYPE_CHECKING:
    from .checkpoints import Checkpoint
    from .model import VAE

EPOCHS_KEY = "history/epochs"
MU_KEY = "history/test_mu"
LOGVAR_KEY = "history/test_logvar"
WEIGHTS_PREFIX = "history/weights/"
# The shipped 784-256-2 model for 50 epochs on 10,000 test images keeps everything: latents
# 4 MB (every epoch), weights 9 x 0.8 MB: a 13 MB checkpoint. A 784-400-20 model for 50
# epochs would take 40 + 12 MB: thinned to these budgets, its checkpoint is about 18 MB.
LATENT_BUDGET_BYTES = 6_000_000
WEIGHT_BUDGET_BYTES = 8_000_000
# Also a bound on the count (tiny test sets, very long runs): the history is restacked
# once per epoch, so this bounds that work too.
MAX_LATENT_EPOCHS = 500
# The largest epoch number a history may name: far beyond any run, and small enough that
# every view's arithmetic on it (a slider in 1/20 epochs, int32) stays in range.
MAX_EPOCH = 10**6
_FLOAT16_MAX = float(np.finfo(np.float16).max)

NO_HISTORY = (
    "has no training history (it was saved before history was kept, or not by a training run); "
    "train it again with `vae-explorer train` or the window's Training dock to get one"
)


def weight_schedule(total_epochs: int) -> list[int]:
    """Epochs whose weights are kept: 1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 130, ... and the last."""
    epochs = [1, 2, 3, 5, 8]
    scale = 1
    while epochs[-1] < total_epochs:
        epochs += [m * scale for m in (13, 20, 30, 50, 80)]
        scale *= 10
    return sorted({e for e in epochs if e <= total_epochs} | {total_epochs})


def thin(epochs: list[int], n: int) -> list[int]:
    """At most ``n`` of ``epochs`` (ascending), evenly spread by position; the last always,
    the first whenever n >= 2."""
    if len(epochs) <= n:
        return list(epochs)
    if n <= 1:
        return [epochs[-1]]
    picks = np.round(np.linspace(0, len(epochs) - 1, n)).astype(int)
    return [epochs[i] for i in sorted(set(picks.tolist()))]


def latent_schedule(total_epochs: int, n_test: int, latent_dim: int) -> list[int]:
    """Epochs whose test latents are kept: all of them while they fit
    :data:`LATENT_BUDGET_BYTES`, else a subset dense at the start (where most changes)."""
    per_epoch = max(1, n_test * latent_dim * 2 * 2)
    fits = max(2, min(LATENT_BUDGET_BYTES // per_epoch, MAX_LATENT_EPOCHS))
    if total_epochs <= fits:
        return list(range(1, total_epochs + 1))
    spread = np.unique(np.round(np.geomspace(1, total_epochs, fits)).astype(int))
    return [int(e) for e in spread]


def _as_float16(value: Any) -> np.ndarray:
    """float16 copy, clipped to its range (a weight beyond 65504 stays finite), read-only."""
    array = np.asarray(value, np.float32)
    out = np.clip(array, -_FLOAT16_MAX, _FLOAT16_MAX).astype(np.float16)
    out.flags.writeable = False
    return out


class HistoryRecorder:
    """Collects epoch-end latents and scheduled weights during a run and hands them out as
    checkpoint arrays. The arrays it hands out are read-only and shared between snapshots
    (they only change when a new epoch is recorded), so a snapshot costs no copy."""

    def __init__(self, total_epochs: int, n_test: int, latent_dim: int, weight_bytes: int) -> None:
        self._latent_epochs = set(latent_schedule(total_epochs, n_test, latent_dim))
        per_epoch = max(1, weight_bytes // 2)  # float32 weights are kept as float16
        planned = weight_schedule(total_epochs)
        self._weight_epochs = set(thin(planned, max(1, WEIGHT_BUDGET_BYTES // per_epoch)))
        self._latents: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._weights: dict[int, dict[str, np.ndarray]] = {}
        self._last = 0
        self._arrays: dict[str, np.ndarray] = {}

    def record(self, epoch: int, state_dict: Mapping[str, Any], mu: Any, logvar: Any) -> None:
        """Record the weights and test latents at the end of ``epoch``. The latest epoch is
        always kept, until a later one replaces it if it is off the schedules."""
        if epoch <= self._last:
            return
        previous = self._last
        if previous and previous not in self._latent_epochs:
            self._latents.pop(previous, None)
        if previous and previous not in self._weight_epochs:
            self._weights.pop(previous, None)
        self._last = epoch
        if mu is not None and logvar is not None:
            self._latents[epoch] = (_as_float16(mu), _as_float16(logvar))
        self._weights[epoch] = {
            name: _as_float16(t.detach().cpu().numpy() if hasattr(t, "detach") else t)
            for name, t in state_dict.items()
            if np.issubdtype(_dtype_of(t), np.floating)
        }
        self._arrays = self._build()

    def arrays(self) -> dict[str, np.ndarray]:
        """The history so far as checkpoint arrays (a new dict of shared read-only arrays)."""
        return dict(self._arrays)

    def _build(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if self._latents:
            epochs = sorted(self._latents)
            out[EPOCHS_KEY] = np.array(epochs, np.int32)
            out[MU_KEY] = np.stack([self._latents[e][0] for e in epochs])
            out[LOGVAR_KEY] = np.stack([self._latents[e][1] for e in epochs])
        for epoch, weights in sorted(self._weights.items()):
            for name, value in weights.items():
                out[f"{WEIGHTS_PREFIX}{epoch:04d}/{name}"] = value
        for value in out.values():
            value.flags.writeable = False
        return out


def _dtype_of(value: Any) -> np.dtype[Any]:
    if hasattr(value, "is_floating_point"):  # a torch tensor, without importing torch
        return np.dtype(np.float32) if value.is_floating_point() else np.dtype(np.int64)
    return np.asarray(value).dtype


def _latents_float32(value: np.ndarray, name: str, epochs: np.ndarray, source: str) -> np.ndarray:
    """``value`` (latents [E, N, d]) as the history uses them: real floating-point numbers,
    finite once cast to float32 (every reader computes in float32). A float64 array is
    returned cast, and checked AFTER the cast: 1e300 is finite, but inf as float32."""
    if not np.issubdtype(value.dtype, np.floating):
        raise CheckpointError(f"{source}: {name} must hold floating-point numbers, not {value.dtype}")
    if not np.isfinite(value).all():
        raise CheckpointError(f"{source}: {name} holds NaN or infinite values")
    if value.dtype.itemsize <= 4:  # float16 and float32 convert exactly
        return value
    with np.errstate(over="ignore"):
        converted = value.astype(np.float32)
    too_large = ~np.isfinite(converted)
    if too_large.any():
        first = int(epochs[int(np.argmax(too_large.reshape(len(epochs), -1).any(axis=1)))])
        raise CheckpointError(
            f"{source}: {name} holds {int(too_large.sum()):,} value(s) too large for float32, the "
            f"first at epoch {first} (up to {float(np.abs(value).max()):.3g}; float32's limit is 3.4e38)"
        )
    return converted


class Latents(NamedTuple):
    """Test latents at one (possibly fractional) epoch, float32 [N, d] each."""

    mu: np.ndarray
    logvar: np.ndarray


@dataclass(frozen=True)
class TrainingHistory:
    """A run's recorded history (see the module doc). ``config``: the model config as a
    dict (from the checkpoint), needed by :meth:`model_at` only."""

    epochs: np.ndarray  # int [E], ascending
    test_mu: np.ndarray  # float16 [E, N, d]
    test_logvar: np.ndarray
    weights: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    config: dict[str, Any] | None = None

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        config: dict[str, Any] | None = None,
        source: str = "checkpoint",
    ) -> TrainingHistory | None:
        """The history in ``arrays`` (checkpoint array names), None when there is none;
        CheckpointError when it is there but inconsistent."""
        if EPOCHS_KEY not in arrays:
            return None
        epochs = np.asarray(arrays[EPOCHS_KEY])
        mu, logvar = arrays.get(MU_KEY), arrays.get(LOGVAR_KEY)
        if mu is None or logvar is None:
            raise CheckpointError(f"{source}: the history has epochs but no test latents")
        mu, logvar = np.asarray(mu), np.asarray(logvar)
        if epochs.ndim != 1 or epochs.size == 0 or not np.issubdtype(epochs.dtype, np.integer):
            raise CheckpointError(f"{source}: history/epochs must be a non-empty list of whole numbers")
        if epochs.dtype == np.uint64 and epochs.max() > MAX_EPOCH:  # would wrap in int64
            raise CheckpointError(f"{source}: history/epochs must lie between 1 and {MAX_EPOCH:,}")
        epochs = epochs.astype(np.int64)  # signed: np.diff of unsigned numbers wraps around
        if epochs.min() < 1 or epochs.max() > MAX_EPOCH:
            raise CheckpointError(
                f"{source}: history/epochs must lie between 1 and {MAX_EPOCH:,}, "
                f"but they run from {epochs.min()} to {epochs.max()}"
            )
        if np.any(np.diff(epochs) <= 0):
            raise CheckpointError(f"{source}: history/epochs must be strictly increasing")
        if mu.ndim != 3 or mu.shape != logvar.shape or mu.shape[0] != epochs.size:
            raise CheckpointError(
                f"{source}: the history's latents have shapes {mu.shape} and {logvar.shape}, "
                f"but {epochs.size} epochs were recorded"
            )
        if mu.shape[1] == 0 or mu.shape[2] == 0:
            raise CheckpointError(f"{source}: the history's latents are empty (shape {mu.shape})")
        mu = _latents_float32(mu, MU_KEY, epochs, source)
        logvar = _latents_float32(logvar, LOGVAR_KEY, epochs, source)
        weights: dict[int, dict[str, np.ndarray]] = {}
        for name, value in arrays.items():
            if not name.startswith(WEIGHTS_PREFIX):
                continue
            epoch_text, _, param = name[len(WEIGHTS_PREFIX) :].partition("/")
            # ASCII digits only ("²".isdigit() is True, int("²") fails), and few of them.
            if not (epoch_text.isascii() and epoch_text.isdigit() and len(epoch_text) <= 7) or not param:
                raise CheckpointError(f"{source}: history array {name!r} is not <epoch>/<weight name>")
            if not 1 <= int(epoch_text) <= MAX_EPOCH:
                raise CheckpointError(
                    f"{source}: history array {name!r} names epoch {int(epoch_text)}, "
                    f"outside 1 to {MAX_EPOCH:,}"
                )
            weights.setdefault(int(epoch_text), {})[param] = np.asarray(value)
        return cls(epochs, mu, logvar, dict(sorted(weights.items())), config)

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> TrainingHistory | None:
        """The history of a loaded checkpoint, None when it has none."""
        shown = str(checkpoint.path) if checkpoint.path is not None else "checkpoint"
        return cls.from_arrays(checkpoint.arrays, checkpoint.config.to_dict(), shown)

    @classmethod
    def read(cls, path: Any) -> TrainingHistory | None:
        """The history of the checkpoint file at ``path`` without building its model or
        importing torch; None when it has none."""
        from .checkpoint_file import read_arrays
        from .files import show_path

        metadata, arrays = read_arrays(path)
        config = metadata.get("config")
        return cls.from_arrays(arrays, config if isinstance(config, dict) else None, show_path(path))

    # --- queries ---------------------------------------------------------------------------
    @property
    def first(self) -> int:
        return int(self.epochs[0])

    @property
    def last(self) -> int:
        return int(self.epochs[-1])

    @property
    def weight_epochs(self) -> list[int]:
        return list(self.weights)

    def latents(self, t: float) -> Latents:
        """Test latents at epoch ``t`` (clamped to the recorded span): for a fractional t,
        positions linearly interpolated between the two neighbouring recorded epochs."""
        if not math.isfinite(t):
            raise ValueError(f"epoch must be a finite number, got {t!r}")
        t = min(max(float(t), self.first), self.last)
        hi = int(np.searchsorted(self.epochs, t, side="left"))
        if self.epochs[hi] == t:
            return Latents(self.test_mu[hi].astype(np.float32), self.test_logvar[hi].astype(np.float32))
        lo = hi - 1
        w = float((t - self.epochs[lo]) / (self.epochs[hi] - self.epochs[lo]))

        def lerp(a: np.ndarray) -> np.ndarray:
            # As a weighted mean: b - a overflows float32 for finite a, b of opposite signs
            # near its limit; (1 - w) a + w b stays between them.
            start, end = a[lo].astype(np.float64), a[hi].astype(np.float64)
            return ((1 - w) * start + w * end).astype(np.float32)

        return Latents(lerp(self.test_mu), lerp(self.test_logvar))

    def weights_epoch(self, t: float) -> int | None:
        """The latest epoch with kept weights at or before ``t`` (None if none is)."""
        kept = [e for e in self.weights if e <= t]
        return kept[-1] if kept else None

    def model_at(self, epoch: int) -> VAE:
        """A CPU model (eval mode) with the weights kept after ``epoch``; KeyError when none
        were kept then, CheckpointError naming the weight when they do not fit the model or
        are not finite (the other epochs' weights stay usable)."""
        import torch

        from .model import VAE, VAEConfig

        if epoch not in self.weights:
            kept = ", ".join(str(e) for e in self.weights) or "none"
            raise KeyError(f"no weights were kept after epoch {epoch} (kept: {kept})")
        if self.config is None:
            raise CheckpointError("the history has no model config to build a model from")
        model = VAE(VAEConfig.from_dict(self.config))
        expected = model.state_dict()
        saved = self.weights[epoch]
        state = {}
        for name, reference in expected.items():
            if name not in saved:
                raise CheckpointError(f"the weights kept after epoch {epoch} lack {name!r}")
            raw = np.asarray(saved[name])
            with np.errstate(over="ignore", invalid="ignore"):  # checked below, after the cast
                value = torch.from_numpy(np.asarray(raw, np.float32))
            if tuple(value.shape) != tuple(reference.shape):
                raise CheckpointError(
                    f"the weight {name!r} kept after epoch {epoch} has shape {tuple(value.shape)}, "
                    f"but the model needs {tuple(reference.shape)}"
                )
            # A damaged file: the model would decode NaN images (the recorder clips to float16).
            bad = int((~torch.isfinite(value)).sum())
            if bad and np.issubdtype(raw.dtype, np.number) and np.isfinite(raw).all():
                raise CheckpointError(
                    f"the weight {name!r} kept after epoch {epoch} holds {bad:,} value"
                    f"{'s' if bad != 1 else ''} too large for float32 (up to "
                    f"{float(np.abs(raw).max()):.3g}; the model computes in float32, whose limit is 3.4e38)"
                )
            if bad:
                raise CheckpointError(
                    f"the weight {name!r} kept after epoch {epoch} holds {bad:,} NaN or infinite "
                    f"value{'s' if bad != 1 else ''} (the file is damaged)"
                )
            state[name] = value
        model.load_state_dict(state)
        return model.eval()

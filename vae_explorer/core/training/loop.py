"""The training loop as a generator of events (see events.py).

The caller iterates :func:`train` and decides what to do with each event; pause and stop
are flags on a :class:`TrainingControl` that the loop checks between batches, so a stop
takes effect within one batch, and the loop then hands over a final :class:`Snapshot` of
the weights as they are before :class:`TrainingFinished`. A pause likewise first hands
over a Snapshot of the weights as they are (unless they are the initial ones or the last
snapshot's), so live views show the paused model, then waits.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..devices import resolve_device
from ..latent import encode_images
from ..model import VAE, ConfigError, as_image_tensor, kl_divergence
from .config import TrainConfig, use_bf16_products
from .diagnosis import NonFinite, failure_message
from .events import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainingControl,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
)
from .layered_step import LayeredMLPStep
from .live_snapshots import LiveSnapshots
from .mlp_step import FusedAdam, MLPStep
from .threads import ThreadTuner

Optimizer = torch.optim.Optimizer | FusedAdam


class _WeightAverage:
    """Polyak/EMA average of the parameters, with the usual warm-up of the decay so early
    averages are not dominated by the random initialisation."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.params = [p for p in model.parameters()]
        self.average = [p.detach().clone() for p in self.params]
        self.decay = decay

    def update(self, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1 - decay)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Temporarily put the averaged weights into the model."""
        raw = [p.detach().clone() for p in self.params]
        self.copy_into_model()
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in self.params], raw)

    def copy_into_model(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_([p.data for p in self.params], self.average)


def state_dict_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Detached CPU copies of the weights, safe to hand to another thread."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def take_snapshot(
    model: VAE, test_images: Any, epoch: int, batch: int, history: list[dict[str, Any]]
) -> Snapshot:
    """A :class:`Snapshot` of ``model`` as it is now: CPU weights, the test latents (if
    ``test_images`` is not None) and a copy of ``history``. The model's mode is kept."""
    mu: np.ndarray | None = None
    logvar: np.ndarray | None = None
    if test_images is not None:
        mu, logvar = encode_images(model, test_images)
    return Snapshot(
        epoch, batch, state_dict_copy(model), model.config, mu, logvar, [dict(r) for r in history]
    )


def _elbo_terms(model: VAE, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image reconstruction NLL and KL for one reparameterised sample; each [B]."""
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, generator)
    recon = -model.log_likelihood(x, model.decode_logits(z))
    return recon, kl_divergence(mu, logvar)


def adam(module: torch.nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """torch's Adam for an autograd step: the fused kernel (one call for all parameters,
    about twice the speed of the default on a CPU), falling back where a build lacks it."""
    try:
        return torch.optim.Adam(module.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(module.parameters(), lr=lr, foreach=device.type != "cpu")


def _make_optimizer(model: VAE, lr: float, device: torch.device, fast: bool) -> Optimizer:
    # The hand-derived step fills every gradient, so it can drive torch's fused Adam kernel
    # directly (FusedAdam: same numbers, a fraction of the per-step overhead).
    if fast and FusedAdam.supported(device):
        return FusedAdam(model.parameters(), lr)
    return adam(model, lr, device)


@torch.no_grad()
def _test_metrics(model: VAE, test_x: torch.Tensor, seed: int) -> tuple[float, float, float]:
    from ..evaluation import evaluate

    m = evaluate(model, test_x, seed=seed)
    return m["elbo"], m["recon"], m["kl"]


def train(
    model: VAE,
    train_images: Any,
    config: TrainConfig | None = None,
    test_images: Any = None,
    control: TrainingControl | None = None,
) -> Iterator[TrainingEvent]:
    """Train ``model`` in place, yielding events; see the module docstring.

    Raises ConfigError / DeviceError before the first event for bad settings.
    """
    config = config or TrainConfig()
    control = control or TrainingControl()
    device = resolve_device(config.device)
    train_x = as_image_tensor(train_images).to(device)
    test_x = as_image_tensor(test_images).to(device) if test_images is not None else None
    n = train_x.shape[0]
    if n == 0:
        raise ConfigError("the training set is empty")
    if test_x is not None and test_x.shape[0] == 0:
        raise ConfigError("the test set is empty (pass None to train without one)")
    batch_size = min(config.batch_size, n)
    batches = n // batch_size  # drop the ragged last batch: equal-sized steps
    return _train_loop(model, train_x, test_x, config, control, device, batch_size, batches)


def _window_check(model: VAE, window: torch.Tensor) -> tuple[float, float, bool]:
    """Mean (recon, kl) of a logging window and whether every weight is finite, read back
    with one host sync (the only one per window on a GPU)."""
    finite = torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all()
    recon, kl, ok = torch.cat([window.double().mean(0), finite.double().reshape(1)]).tolist()
    return recon, kl, ok == 1.0


def _weights_copy(model: VAE) -> dict[str, torch.Tensor]:
    """The weights to roll back to after a non-finite update: a copy on the training device
    (a GPU's copy is queued, no host sync)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _what_went_non_finite(
    model: VAE, window: torch.Tensor, loss: float, train_x: torch.Tensor, epoch: int, first_batch: int,
) -> NonFinite:  # fmt: skip
    """Which part went non-finite first in a logging window of per-batch (recon, kl) terms."""
    bad_pixels = int((~torch.isfinite(train_x)).sum())
    bad = ~torch.isfinite(window)
    rows = bad.any(1).nonzero().flatten().tolist()
    if rows:
        row = rows[0]
        recon_bad, kl_bad = bool(bad[row, 0]), bool(bad[row, 1])
        # Both at once: the update before left non-finite weights (its gradients overflowed).
        seen = "both" if recon_bad and kl_bad else "recon" if recon_bad else "kl"
        batch = first_batch + row + 1
    elif not math.isfinite(loss):
        seen, batch = "weighted_kl", first_batch + window.shape[0]
    else:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        finite_grads = all(bool(torch.isfinite(g).all()) for g in grads)
        seen, batch = ("weights" if finite_grads else "gradients"), first_batch + window.shape[0]
    if bad_pixels:
        seen = "data"
    return NonFinite(seen, epoch, batch, bad_pixels)


def _fast_step(model: VAE, config: TrainConfig, device: torch.device) -> MLPStep | LayeredMLPStep | None:
    """The hand-derived step for an MLP (the tuned one for the classic shape); None = autograd."""
    if model.config.is_classic_mlp:
        return MLPStep(model, config.beta, use_bf16_products(config.matmul_precision, device))
    if model.config.arch == "mlp":
        return LayeredMLPStep(model, config.beta, use_bf16_products(config.matmul_precision, device))
    return None


def _train_loop(
    model: VAE,
    train_x: torch.Tensor,
    test_x: torch.Tensor | None,
    config: TrainConfig,
    control: TrainingControl,
    device: torch.device,
    batch_size: int,
    batches: int,
) -> Iterator[TrainingEvent]:
    model.to(device).train()
    fast_step = _fast_step(model, config, device)
    optimizer = _make_optimizer(model, config.lr, device, fast=fast_step is not None)
    # Thread count adapts to background load for the fast step (its results do not depend
    # on it); other steps keep the caller's setting.
    tuner = ThreadTuner(enabled=fast_step is not None and device.type == "cpu")
    try:
        yield from _epochs(
            model, train_x, test_x, config, control, device, batch_size, batches, optimizer, fast_step, tuner
        )
    finally:
        tuner.restore()


def _epochs(
    model: VAE,
    train_x: torch.Tensor,
    test_x: torch.Tensor | None,
    config: TrainConfig,
    control: TrainingControl,
    device: torch.device,
    batch_size: int,
    batches: int,
    optimizer: Optimizer,
    fast_step: MLPStep | LayeredMLPStep | None,
    tuner: ThreadTuner,
) -> Iterator[TrainingEvent]:
    generator = torch.Generator(device=device).manual_seed(config.seed)
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    latent_dim = model.latent_dim
    total_steps = config.epochs * batches
    history: list[dict[str, Any]] = []
    last_good = _weights_copy(model)
    average = _WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None

    def evaluated_weights() -> contextlib.AbstractContextManager[None]:
        return average.applied() if average is not None else contextlib.nullcontext()

    yield TrainingStarted(str(device), config.epochs, batches, train_x.shape[0])

    live = LiveSnapshots(config.snapshot_every, config.snapshot_seconds)

    def snapshot(epoch: int, batch: int) -> Snapshot:
        with evaluated_weights():
            taken = take_snapshot(model, test_x, epoch, batch, history)
        live.taken()
        return taken

    step = 0
    epoch = 0
    # The step count of the last snapshot's weights: a pause hands over the weights it
    # stops at unless a snapshot of exactly these (same step) has gone out. Step 0: the
    # initial weights, the caller's own (or the snapshot just below): nothing new to show.
    snapshot_step = 0
    if config.snapshot_every:
        yield snapshot(0, 0)
    # The epoch's shuffled copy (and its bf16 copy for the bf16 products) live in buffers
    # reused every epoch: a fresh 200 MB tensor per epoch costs the kernel's page zeroing
    # and faults, several times the gather itself.
    # (Contiguous whatever the layout of the data given: each batch is then a plain block.)
    shuffled = torch.empty(train_x.shape, dtype=train_x.dtype, device=device)
    low = fast_step is not None and fast_step.bf16
    shuffled_low = torch.empty(train_x.shape, dtype=torch.bfloat16, device=device) if low else None
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()  # the epoch's time includes its shuffle
        # One gather per epoch, then each batch is a contiguous view: no per-batch indexing.
        perm = torch.randperm(train_x.shape[0], generator=shuffle_gen).to(device)
        torch.index_select(train_x, 0, perm, out=shuffled)
        if shuffled_low is not None:  # converted once per epoch, not once per batch
            shuffled_low.copy_(shuffled)
        # Per-step (recon, kl) go into one preallocated buffer: no host sync per batch.
        terms = torch.zeros((batches, 2), device=device)
        window_from = 0
        window_start = time.perf_counter()  # the first window's rate: its batches only
        lr = config.lr
        for b in range(batches):
            if control.paused:
                paused_at = time.perf_counter()
                if snapshot_step != step:  # once per pause, before waiting (module doc)
                    snapshot_step = step
                    yield snapshot(epoch, b)
                control.wait_while_paused()
                resumed = time.perf_counter() - paused_at
                window_start += resumed
                epoch_start += resumed
            if control.stopped:
                # Hand over the weights as they are (b batches into this epoch), then end.
                if average is not None:
                    average.copy_into_model()
                model.eval()
                yield snapshot(epoch, b)
                yield TrainingFinished(epoch - 1, True, [dict(r) for r in history])
                return
            if config.lr_schedule == "cosine":
                lr = 0.5 * config.lr * (1 + math.cos(math.pi * step / total_steps))
                for group in optimizer.param_groups:
                    group["lr"] = lr
            rows = slice(b * batch_size, (b + 1) * batch_size)
            x = shuffled[rows]
            beta = config.beta_at(step, batches)
            tuner.begin()
            if fast_step is not None:
                fast_step.beta = beta
                eps = torch.randn((batch_size, latent_dim), generator=generator, device=device)
                x_low = shuffled_low[rows] if shuffled_low is not None else None
                recon_mean, kl_mean = fast_step(x, eps, x_low)
            else:
                recon, kl = _elbo_terms(model, x, generator)
                recon_mean, kl_mean = recon.mean(), kl.mean()
                for p in model.parameters():
                    p.grad = None
                (recon_mean + beta * kl_mean).backward()
            # The run's first batch is reported at once: something moves within a second.
            window_ends = (b + 1) % config.log_every == 0 or b + 1 == batches or (epoch == 1 and b == 0)
            if window_ends:
                # The weights this batch's loss is measured at: if the window's losses come
                # out finite, these are the last weights known good (the ones after the
                # step below have no measured loss yet, and a huge step can ruin them
                # while leaving them finite).
                measured = _weights_copy(model)
            optimizer.step()
            tuner.end()
            if average is not None:
                average.update(step)
            step += 1
            torch.stack([recon_mean.detach(), kl_mean.detach()], out=terms[b])
            if window_ends:
                recon_w, kl_w, weights_finite = _window_check(model, terms[window_from : b + 1])
                loss_w = recon_w + beta * kl_w
                if not (math.isfinite(loss_w) and weights_finite):
                    window = terms[window_from : b + 1].cpu()
                    found = _what_went_non_finite(model, window, loss_w, train_x, epoch, window_from)
                    model.load_state_dict(last_good)
                    model.eval()
                    yield TrainingFailed(failure_message(found, config), epoch, b + 1)
                    return
                last_good = measured
                now = time.perf_counter()
                rate = (b + 1 - window_from) * batch_size / max(now - window_start, 1e-9)
                yield BatchMetrics(epoch, b + 1, batches, loss_w, recon_w, kl_w, rate)
                # Time the consumer spends on an event is not training time.
                epoch_start += time.perf_counter() - now
                window_from = b + 1
                window_start = time.perf_counter()
            if live.due(b + 1, batches):
                paused_at = time.perf_counter()
                snapshot_step = step
                yield snapshot(epoch, b + 1)
                elapsed = time.perf_counter() - paused_at
                epoch_start += elapsed
                window_start += elapsed
        seconds = time.perf_counter() - epoch_start
        train_recon, train_kl = terms.cpu().double().mean(0).tolist()
        train_loss = train_recon + config.beta_at(step - 1, batches) * train_kl
        with evaluated_weights():
            test = _test_metrics(model, test_x, config.seed) if test_x is not None else (None,) * 3
        model.train()
        summary = EpochSummary(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=train_loss,
            train_recon=train_recon,
            train_kl=train_kl,
            test_elbo=test[0],
            test_recon=test[1],
            test_kl=test[2],
            seconds=seconds,
            lr=lr,
        )
        history.append(summary.record())
        yield summary
        snapshot_step = step
        yield snapshot(epoch, batches)
    if average is not None:
        average.copy_into_model()
    model.eval()
    yield TrainingFinished(epoch, False, [dict(r) for r in history])

"""A pause hands over the weights it stops at (live views show the paused model), once,
before the loop waits; resuming carries on as before."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainConfig,
    TrainingControl,
    TrainingFinished,
    train,
)


def _data(n: int = 240, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def _next_without_blocking(events, control: TrainingControl, seconds: float = 10.0):
    """The next event, and whether the run was still paused when it came: a loop that
    waits first would block for ever, so a timer resumes it after ``seconds``."""
    timer = threading.Timer(seconds, control.resume)
    timer.start()
    try:
        event = next(events)
        return event, control.paused
    finally:
        timer.cancel()


@pytest.mark.parametrize("snapshot_every", [0, 7])
def test_a_pause_mid_epoch_hands_over_the_paused_weights_before_waiting(snapshot_every):
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    untrained = {k: v.clone() for k, v in model.state_dict().items()}
    test = _data(30, seed=1)
    control = TrainingControl()
    # 24 batches an epoch, a BatchMetrics every 5: the pause lands at batch 10 of epoch 1.
    config = TrainConfig(epochs=3, batch_size=10, log_every=5, snapshot_every=snapshot_every)
    events = train(model, _data(), config, test, control)
    for ev in events:
        if isinstance(ev, BatchMetrics) and ev.batch == 10:
            break
    control.pause()
    ev, still_paused = _next_without_blocking(events, control)
    assert isinstance(ev, Snapshot), ev
    assert still_paused  # handed over before the loop waits
    assert (ev.epoch, ev.batch) == (1, 10)
    assert _same(ev.state_dict, model.state_dict())  # the weights as they are at the pause
    assert not _same(ev.state_dict, untrained)
    assert ev.test_mu is not None and ev.test_mu.shape == (30, 2)
    # Resuming carries on: the run trains on to its end, with no second pause snapshot.
    control.resume()
    rest = list(events)
    assert isinstance(rest[-1], TrainingFinished) and not rest[-1].stopped
    assert rest[-1].epochs_completed == 3
    assert not any(isinstance(e, Snapshot) and (e.epoch, e.batch) == (1, 10) for e in rest)
    assert sum(isinstance(e, EpochSummary) for e in rest) == 3


def test_one_snapshot_per_pause_and_none_when_the_weights_just_went_out():
    """A pause right after an epoch's snapshot (the same weights) waits at once; a
    stop during a pause still ends with the final snapshot."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    control = TrainingControl()
    config = TrainConfig(epochs=3, batch_size=10, log_every=5)
    events = train(model, _data(), config, None, control)
    for ev in events:
        if isinstance(ev, Snapshot) and ev.epoch == 1:  # the end of epoch 1
            break
    control.pause()
    threading.Timer(0.3, control.stop).start()  # the loop waits: only a stop wakes it
    ev = next(events)
    assert isinstance(ev, Snapshot) and (ev.epoch, ev.batch) == (2, 0)  # the stop's snapshot
    assert control.stopped
    assert _same(ev.state_dict, model.state_dict())
    rest = list(events)
    assert len(rest) == 1 and isinstance(rest[0], TrainingFinished) and rest[0].stopped

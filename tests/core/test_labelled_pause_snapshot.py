"""A labelled (M2) run paused mid-epoch hands over the weights it stops at, once, before
it waits: the window's views showed the last epoch's model while paused."""

from __future__ import annotations

import threading

import torch

from vae_explorer.core.labelled import LabelledConfig, LabelledJob, run_labelled_job
from vae_explorer.core.training import BatchMetrics, Snapshot, TrainConfig, TrainingControl, TrainingFinished


def test_a_paused_m2_run_hands_over_its_weights_before_waiting(make_idx_folder):
    folder = make_idx_folder(300, 50)
    config = LabelledConfig("m2", 2, 16, "bernoulli", 16)
    train_config = TrainConfig(epochs=2, batch_size=20, log_every=3, device="cpu", snapshot_every=1000)
    job = LabelledJob(config, train_config, labels=20, labelled_batch=10, dataset=str(folder))
    control = TrainingControl()
    events = run_labelled_job(job, control)
    last_snapshot = None
    for ev in events:
        if isinstance(ev, Snapshot):
            last_snapshot = ev
        if isinstance(ev, BatchMetrics) and ev.batch == 6:
            break
    assert last_snapshot is not None and last_snapshot.batch == 0  # the run's first weights
    control.pause()
    timer = threading.Timer(10.0, control.resume)  # (old code waits first: no hang)
    timer.start()
    try:
        ev = next(events)
        still_paused = control.paused
    finally:
        timer.cancel()
    assert isinstance(ev, Snapshot) and still_paused
    assert (ev.epoch, ev.batch) == (1, 6)
    assert any(not torch.equal(ev.state_dict[k], last_snapshot.state_dict[k]) for k in ev.state_dict)
    control.resume()
    rest = list(events)
    assert isinstance(rest[-1], TrainingFinished) and not rest[-1].stopped
    assert not any(isinstance(e, Snapshot) and (e.epoch, e.batch) == (1, 6) for e in rest)

"""One training job for the CLI and the window: history and checkpoint metadata kept once
in core, a final snapshot on every ending (finish, stop, failure), stop within one batch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.data import DatasetError
from vae_explorer.core.model import VAEConfig
from vae_explorer.core.training import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainConfig,
    TrainingControl,
    TrainingFailed,
    TrainingFinished,
    TrainingJob,
    model_from_snapshot,
    run_job,
    save_snapshot,
    train,
)

SMALL = VAEConfig(latent_dim=2, hidden_dim=16)


def _job(folder, epochs=2) -> TrainingJob:
    config = TrainConfig(epochs=epochs, batch_size=50, lr=1e-3, seed=3, log_every=1)
    return TrainingJob(SMALL, config, dataset=str(folder), command="test-run")


def test_snapshots_carry_the_history_and_the_checkpoint_metadata(make_idx_folder, tmp_path):
    folder = make_idx_folder(200, 60)
    events = list(run_job(_job(folder)))
    epochs = [e for e in events if isinstance(e, EpochSummary)]
    snaps = [e for e in events if isinstance(e, Snapshot)]
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    assert isinstance(events[-2], Snapshot)  # the final weights come right before the end
    assert len(epochs) == len(snaps) == 2
    for i, snap in enumerate(snaps, 1):
        assert [r["epoch"] for r in snap.history] == list(range(1, i + 1))
        meta = snap.metadata
        assert meta["dataset"] == "custom" and meta["command"] == "test-run"
        assert meta["epochs_completed"] == i and meta["history"] == snap.history
        assert meta["train_config"] == dataclasses.asdict(_job(folder).train_config)
        assert snap.test_mu is not None and snap.test_mu.shape == (60, 2)
    # The history records are the epoch summaries, without the run length.
    assert finished.history == [{k: v for k, v in e.__dict__.items() if k != "epochs"} for e in epochs]
    assert finished.metadata["history"] == finished.history == snaps[-1].history
    assert set(finished.metadata["test_metrics"]) == {"elbo", "recon", "kl"}
    assert finished.metadata["train_seconds"] >= 0
    # The helper writes exactly that metadata with the snapshot's weights.
    path = save_snapshot(tmp_path / "m.safetensors", snaps[-1], finished.metadata)
    ckpt = load_checkpoint(path)
    for key in ("dataset", "command", "epochs_completed", "history", "train_config", "test_metrics"):
        assert ckpt.metadata[key] == finished.metadata[key]
    for name, tensor in snaps[-1].state_dict.items():
        assert np.array_equal(ckpt.model.state_dict()[name].numpy(), tensor.numpy())


def test_a_named_dataset_is_recorded_by_name(monkeypatch):
    job = TrainingJob(SMALL, TrainConfig(epochs=1), dataset="fashion-mnist")
    assert job.metadata([])["dataset"] == "fashion-mnist"
    assert TrainingJob(SMALL, TrainConfig(epochs=1)).dataset_ref.name == "mnist"


def test_train_limit_and_missing_data(make_idx_folder, tmp_path):
    folder = make_idx_folder(300, 40)
    job = dataclasses.replace(_job(folder, epochs=1), train_limit=100)
    started = next(run_job(job))
    assert started.train_images == 100
    with pytest.raises(DatasetError, match="no such folder"):
        next(run_job(dataclasses.replace(job, dataset=str(tmp_path / "none"))))


def test_stop_mid_epoch_yields_the_weights_as_they_are_within_one_batch(mnist_test, tiny_model):
    """The loop itself hands over a final snapshot (with test latents) after a stop."""
    control = TrainingControl()
    config = TrainConfig(epochs=3, batch_size=20, log_every=1, seed=0)
    test = mnist_test.images[:50]
    events = train(tiny_model, mnist_test.images[:400], config, test, control)
    after_stop = []
    for ev in events:
        if after_stop or control.stopped:
            after_stop.append(ev)
        elif isinstance(ev, BatchMetrics) and ev.epoch == 2 and ev.batch == 5:
            control.stop()
    assert [type(e) for e in after_stop] == [Snapshot, TrainingFinished]
    snap, finished = after_stop
    assert (snap.epoch, snap.batch) == (2, 5)  # no batch ran after the stop
    assert finished.stopped and finished.epochs_completed == 1
    assert len(snap.history) == 1 and finished.history == snap.history
    model = model_from_snapshot(snap)
    for name, tensor in tiny_model.state_dict().items():
        assert np.array_equal(snap.state_dict[name].numpy(), tensor.numpy())
    from vae_explorer.core.latent import encode_images

    mu, logvar = encode_images(model, test)
    assert snap.test_mu is not None and snap.test_logvar is not None
    assert np.allclose(snap.test_mu, mu) and np.allclose(snap.test_logvar, logvar)


def test_a_stopped_job_records_the_epochs_it_completed(make_idx_folder):
    control = TrainingControl()
    events = []
    for ev in run_job(_job(make_idx_folder(200, 30), epochs=5), control):
        events.append(ev)
        if isinstance(ev, BatchMetrics) and ev.epoch == 2 and ev.batch == 2:
            control.stop()
    snap, finished = events[-2:]
    assert isinstance(snap, Snapshot) and isinstance(finished, TrainingFinished)
    assert finished.stopped and finished.epochs_completed == 1
    assert snap.metadata["epochs_completed"] == 1 and len(snap.metadata["history"]) == 1
    assert finished.metadata["epochs_completed"] == 1


def test_a_failed_job_ends_with_the_last_good_weights(make_idx_folder, monkeypatch):
    """A real divergence (weights poisoned after epoch 1): the loop restores the last good
    weights, and the job hands them over as its final snapshot before TrainingFinished."""
    import vae_explorer.core.training.job as job_module

    def poisoned(model, images, config, test_images=None, control=None):
        for ev in train(model, images, config, test_images, control):
            yield ev
            if isinstance(ev, Snapshot) and ev.epoch == 1:
                with torch.no_grad():
                    model.enc_hidden.weight.fill_(float("nan"))

    monkeypatch.setattr(job_module, "train", poisoned)
    events = list(run_job(_job(make_idx_folder(200, 30), epochs=3)))
    failed = [e for e in events if isinstance(e, TrainingFailed)]
    assert len(failed) == 1 and failed[0].epoch == 2
    assert "non-finite" in failed[0].message
    snap, finished = events[-2:]
    assert isinstance(snap, Snapshot) and isinstance(finished, TrainingFinished) and finished.stopped
    assert all(torch.isfinite(t).all() for t in snap.state_dict.values())
    assert snap.test_mu is not None and np.isfinite(snap.test_mu).all()
    assert finished.epochs_completed == 1 == finished.metadata["epochs_completed"]
    assert snap.metadata["history"] == finished.history and len(finished.history) == 1
    # The history of the completed epoch is kept, and the last good weights' latents.
    assert snap.arrays["history/epochs"].tolist() == [1] and finished.arrays.keys() == snap.arrays.keys()
    assert snap.arrays["test_mu"] is snap.test_mu


def test_snapshots_carry_the_latents_and_the_history_of_completed_epochs(make_idx_folder, tmp_path):
    """Arrays contract: test_mu/test_logvar of exactly those weights, history/epochs, the
    float16 history of each epoch-end snapshot's latents, weights at 1, 2, 3 (the budget)."""
    from vae_explorer.core.history import TrainingHistory

    job = _job(make_idx_folder(200, 40), epochs=4)
    job = dataclasses.replace(job, train_config=dataclasses.replace(job.train_config, snapshot_every=2))
    events = list(run_job(job))
    snaps = [e for e in events if isinstance(e, Snapshot)]
    ends = [s for s in snaps if s.epoch and len(s.history) == s.epoch]
    mids = [s for s in snaps if len(s.history) < s.epoch]
    assert len(ends) == 4 and mids  # snapshot_every=2 adds mid-epoch snapshots
    assert (snaps[0].epoch, snaps[0].batch) == (0, 0)  # and the initial weights, first
    for snap in snaps:
        arrays = snap.arrays
        assert arrays["test_mu"] is snap.test_mu and arrays["test_logvar"] is snap.test_logvar
        done = len(snap.history)
        assert arrays.get("history/epochs", np.zeros(0)).tolist() == list(range(1, done + 1))
        if done:
            assert arrays["history/test_mu"].shape == (done, 40, 2)
            assert arrays["history/test_mu"].dtype == np.float16
    for k, snap in enumerate(ends):
        last = ends[-1].arrays
        assert np.allclose(last["history/test_mu"][k], snap.test_mu, atol=2e-3, rtol=2e-3)
        assert np.allclose(last["history/test_logvar"][k], snap.test_logvar, atol=2e-3, rtol=2e-3)
    # Weights: epochs 1, 2, 3 (schedule) and 4 (the last); a mid-epoch-3 snapshot has 1, 2.
    kept = sorted({n.split("/")[2] for n in ends[-1].arrays if n.startswith("history/weights/")})
    assert kept == ["0001", "0002", "0003", "0004"]
    mid3 = next(s for s in mids if s.epoch == 3)
    assert sorted({n.split("/")[2] for n in mid3.arrays if n.startswith("history/weights/")}) == [
        "0001",
        "0002",
    ]
    w2 = ends[1].state_dict["enc_hidden.weight"].numpy()
    assert np.allclose(ends[-1].arrays["history/weights/0002/enc_hidden.weight"], w2, atol=1e-3)
    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    assert finished.arrays.keys() == snaps[-1].arrays.keys()
    # Saved (as the CLI saves) and read back.
    ckpt = load_checkpoint(save_snapshot(tmp_path / "h.safetensors", snaps[-1], finished.metadata))
    assert set(ckpt.arrays) == set(finished.arrays)
    history = TrainingHistory.from_checkpoint(ckpt)
    assert history is not None and history.epochs.tolist() == [1, 2, 3, 4]
    assert np.array_equal(ckpt.arrays["test_mu"], snaps[-1].test_mu)


def test_a_stopped_job_keeps_the_history_of_its_completed_epochs(make_idx_folder):
    control = TrainingControl()
    events = []
    for ev in run_job(_job(make_idx_folder(200, 30), epochs=5), control):
        events.append(ev)
        if isinstance(ev, BatchMetrics) and ev.epoch == 3 and ev.batch == 1:
            control.stop()
    snap, finished = events[-2:]
    assert isinstance(snap, Snapshot) and (snap.epoch, snap.batch) == (3, 1)
    assert snap.arrays["history/epochs"].tolist() == [1, 2]
    assert finished.arrays["history/epochs"].tolist() == [1, 2]
    # The final (mid-epoch) weights' own latents, not epoch 2's.
    assert snap.arrays["test_mu"] is snap.test_mu
    assert not np.allclose(snap.arrays["history/test_mu"][-1], snap.test_mu, atol=1e-4)


@pytest.mark.parametrize(("n_train", "n_test", "split"), [(100, 0, "test"), (0, 50, "training")])
def test_a_folder_with_an_empty_split_is_named_before_training(make_idx_folder, n_train, n_test, split):

    folder = make_idx_folder(n_train, n_test)
    job = TrainingJob(VAEConfig(latent_dim=2, hidden_dim=8), TrainConfig(epochs=1), dataset=str(folder))
    with pytest.raises(DatasetError, match=rf"the {split} split in .*{folder.name} holds no images") as err:
        next(iter(run_job(job)))
    assert "Folder:" not in str(err.value)  # (the folder named once)

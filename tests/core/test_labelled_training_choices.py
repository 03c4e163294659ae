"""What M1+M2 does beyond the paper's text: dropout on q(y|x)'s hidden units (it keeps the
classifier from learning its few labels by heart) and M2 on M1's active units only."""

from __future__ import annotations

import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.labelled import LabelledConfig, LabelledJob, LabelledModel, run_labelled_job
from vae_explorer.core.labelled.pretrained import active_dims, keep_latent_dims
from vae_explorer.core.model import VAE, ConfigError, VAEConfig
from vae_explorer.core.training import Snapshot, TrainConfig, TrainingFinished, save_snapshot


def test_dropout_acts_in_training_steps_only():
    torch.manual_seed(0)
    model = LabelledModel(LabelledConfig("m2", 2, 16, "bernoulli", 32, classifier_dropout=0.5))
    x = torch.rand(8, 784)
    model.train()
    assert not torch.equal(model.m2.class_logits(x), model.m2.class_logits(x))
    with torch.no_grad():  # the public API runs without gradients: never dropped
        assert torch.equal(model.m2.class_logits(x), model.m2.class_logits(x))
    assert torch.equal(model.classify(x), model.classify(x))
    model.eval()
    assert torch.equal(model.m2.class_logits(x), model.m2.class_logits(x))
    plain = LabelledModel(LabelledConfig("m2", 2, 16, "bernoulli", 32)).train()
    assert torch.equal(plain.m2.class_logits(x), plain.m2.class_logits(x))


@pytest.mark.parametrize("rate", [-0.1, 1.0, float("nan"), "0.5"])
def test_dropout_rate_is_checked(rate):
    with pytest.raises(ConfigError, match="classifier_dropout"):
        LabelledConfig(classifier_dropout=rate)


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_a_run_with_dropout_saves_it_in_the_config(tmp_path, make_idx_folder, kind):
    folder = make_idx_folder(200, 50)
    config = LabelledConfig(kind, 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16,
                            classifier_dropout=0.3)  # fmt: skip
    job = LabelledJob(config, TrainConfig(epochs=1, batch_size=50, device="cpu"), labels=20, m1_epochs=1,
                      labelled_batch=10, dataset=str(folder))  # fmt: skip
    events = list(run_labelled_job(job))
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    snapshot = [e for e in events if isinstance(e, Snapshot)][-1]
    ckpt = load_checkpoint(save_snapshot(tmp_path / "run.safetensors", snapshot, finished.metadata))
    assert ckpt.model.config.classifier_dropout == 0.3


def test_a_checkpoint_from_before_dropout_loads_without_it():
    old = LabelledConfig("m2").to_dict()
    del old["classifier_dropout"]
    assert LabelledConfig.from_dict(old).classifier_dropout == 0.0


def _vae_with_dead_units(dead: list[int], hidden=(24, 12)) -> VAE:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=6, hidden_dim=hidden, activation="softplus"))
    with torch.no_grad():
        vae.enc_mu.weight.mul_(20)  # live units: means that vary from image to image
        for d in dead:  # a collapsed unit: its mean never moves, its variance is the prior's
            vae.enc_mu.weight[d] = 0
            vae.enc_mu.bias[d] = 0
            vae.enc_logvar.weight[d] = 0
            vae.enc_logvar.bias[d] = 0
    return vae.eval()


@pytest.mark.parametrize("hidden", [16, (24, 12)])
def test_keep_latent_dims_encodes_and_decodes_as_the_whole_model(hidden):
    vae = _vae_with_dead_units([1, 4], hidden)
    x = torch.rand(32, 784)
    keep = active_dims(vae.encode(x)[0])
    assert keep.tolist() == [0, 2, 3, 5]
    small = keep_latent_dims(vae, keep)
    assert small.latent_dim == 4 and not small.training
    (mu, logvar), (mu_s, logvar_s) = vae.encode(x), small.encode(x)
    torch.testing.assert_close(mu_s, mu[:, keep])
    torch.testing.assert_close(logvar_s, logvar[:, keep])
    z = torch.randn(32, 6)
    z[:, [1, 4]] = 0
    torch.testing.assert_close(small.decode(z[:, keep]), vae.decode(z))
    fill = torch.tensor([9.0, 0.3, 9.0, 9.0, -0.2, 9.0])  # the dropped units held at their means
    held = keep_latent_dims(vae, keep, fill=fill)
    z[:, [1, 4]] = fill[[1, 4]]
    torch.testing.assert_close(held.decode(z[:, keep]), vae.decode(z))


@pytest.mark.parametrize("dims", [[], [0, 0], [6], [-1]])
def test_keep_latent_dims_refuses_bad_indices(dims):
    with pytest.raises(ConfigError, match="distinct indices in 0..5"):
        keep_latent_dims(_vae_with_dead_units([]), dims)


def test_keep_latent_dims_refuses_a_convolutional_vae():
    with pytest.raises(ConfigError, match="only an MLP"):
        keep_latent_dims(VAE(VAEConfig(latent_dim=4, arch="conv", hidden_dim=32)), [0])


def test_active_dims_keeps_the_most_active_unit_when_none_is():
    mu = torch.zeros(10, 3)
    mu[:, 2] = torch.linspace(0, 0.01, 10)  # varies, but far below the threshold
    assert active_dims(mu).tolist() == [2]


@pytest.mark.parametrize("active_only", [True, False])
def test_m1m2_models_only_m1s_active_units(tmp_path, make_idx_folder, active_only):
    folder = make_idx_folder(200, 50)
    m1 = _vae_with_dead_units([1, 4])
    config = LabelledConfig("m1m2", 2, 16, "bernoulli", 16, m1_latent_dim=6, m1_hidden_dim=(24, 12),
                            m1_activation="softplus")  # fmt: skip
    job = LabelledJob(config, TrainConfig(epochs=1, batch_size=50, device="cpu"), labels=20,
                      labelled_batch=10, dataset=str(folder), pretrained_m1=m1,
                      m1_active_only=active_only)  # fmt: skip
    events = list(run_labelled_job(job))
    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    snapshot = [e for e in events if isinstance(e, Snapshot)][-1]
    ckpt = load_checkpoint(save_snapshot(tmp_path / "run.safetensors", snapshot, finished.metadata))
    model = ckpt.model
    assert model.config.m1_latent_dim == (4 if active_only else 6)
    assert ckpt.metadata.get("m1_kept_dims") == ([0, 2, 3, 5] if active_only else None)
    assert model.m2.cls_hidden.in_features == model.config.m1_latent_dim
    x = torch.rand(5, 784)
    mu, _ = m1.encode(x)
    kept = [0, 2, 3, 5] if active_only else list(range(6))
    torch.testing.assert_close(model.m1.encode(x)[0], mu[:, kept])  # M1 kept as trained
    assert model.classify(x).shape == (5,) and model.decode(torch.zeros(2, 2), 3).shape == (2, 784)


def test_a_given_m1_reports_how_long_it_was_trained(tmp_path):
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.labelled.pretrained import m1_from_checkpoint

    vae = VAE(VAEConfig(latent_dim=3, hidden_dim=8))
    for metadata, epochs in (({"epochs_completed": 7}, 7), ({"m1_epochs": 30}, 30), ({}, 0),
                             ({"epochs_completed": True}, 0)):  # fmt: skip
        path = save_checkpoint(vae, tmp_path / "m1.safetensors", metadata)
        model, found = m1_from_checkpoint(path)
        assert found == epochs and model.config.latent_dim == 3, metadata


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_a_live_run_hands_over_its_initial_model_first(make_idx_folder, kind):
    """With snapshot_every (the window's runs), the untrained model comes first (epoch 0),
    so the window never shows the model the run replaces; the run's history is empty."""
    folder = make_idx_folder(200, 50)
    config = LabelledConfig(kind, 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    train_config = TrainConfig(epochs=1, batch_size=50, device="cpu", snapshot_every=1000)
    job = LabelledJob(config, train_config, labels=20, m1_epochs=1, labelled_batch=10, dataset=str(folder))
    snaps = [e for e in run_labelled_job(job) if isinstance(e, Snapshot)]
    first = snaps[0]
    assert (first.epoch, first.batch, first.history) == (0, 0, [])
    assert first.test_mu is not None and first.test_mu.shape == (50, 2)
    assert snaps[-1].epoch == job.m1_epochs_to_run + 1 and snaps[-1].history


def test_m2_hands_over_mid_epoch_snapshots_by_time(make_idx_folder):
    """An M2 epoch that outlasts snapshot_seconds shows its progress mid-epoch (on a slow
    machine an epoch takes many seconds); each mid-epoch snapshot holds the weights then."""
    folder = make_idx_folder(200, 50)
    config = LabelledConfig("m2", 2, 16, "bernoulli", 16)
    train_config = TrainConfig(
        epochs=1, batch_size=50, device="cpu", snapshot_every=1000, snapshot_seconds=1e-9
    )
    job = LabelledJob(config, train_config, labels=20, labelled_batch=10, dataset=str(folder))
    snaps = [e for e in run_labelled_job(job) if isinstance(e, Snapshot)]
    batches = [(s.epoch, s.batch) for s in snaps]
    assert batches[0] == (0, 0) and batches[-1][0] == 1
    mid = [s for s in snaps if s.epoch == 1 and 0 < s.batch < snaps[-1].batch]
    assert len(mid) >= 2 and [s.batch for s in mid] == sorted({s.batch for s in mid})
    first, last = mid[0].state_dict, mid[-1].state_dict
    assert any(not torch.equal(first[k], last[k]) for k in first)  # trained on in between


@pytest.mark.parametrize(("precision", "low"), [("float32", False), ("bfloat16", True)])
def test_the_matmul_precision_reaches_m1_and_m2(make_idx_folder, monkeypatch, precision, low):
    """M2's steps run under bf16 autocast when the precision asks for bf16 products (auto:
    on CPUs with native bf16), float32 otherwise; M1's VAE training gets the same setting."""
    import vae_explorer.core.labelled.job as job_module

    seen: dict[str, list] = {"m2": [], "m1": []}
    real_loss, real_train = job_module.m2_loss, job_module.train

    def m2_loss(*args, **kwargs):
        seen["m2"].append(torch.is_autocast_enabled("cpu"))
        return real_loss(*args, **kwargs)

    def train(model, images, config, *args):
        seen["m1"].append(config.matmul_precision)
        return real_train(model, images, config, *args)

    monkeypatch.setattr(job_module, "m2_loss", m2_loss)
    monkeypatch.setattr(job_module, "train", train)
    # The autograd path (for networks the hand-derived step does not cover): its autocast.
    # (The hand-derived step's precision: tests/core/test_m2_step.py.)
    monkeypatch.setattr(job_module, "unsupported", lambda nets: "forced for this test")
    folder = make_idx_folder(200, 50)
    config = LabelledConfig("m1m2", 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    train_config = TrainConfig(epochs=1, batch_size=50, device="cpu", matmul_precision=precision)
    job = LabelledJob(config, train_config, labels=20, m1_epochs=1, labelled_batch=10, dataset=str(folder))
    finished = list(run_labelled_job(job))[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    assert seen["m1"] == [precision] and seen["m2"] and set(seen["m2"]) == {low}


def test_a_non_finite_m2_loss_restores_weights_a_finite_loss_was_measured_at(make_idx_folder, monkeypatch):
    """Not the weights the non-finite loss came from (those after the last step)."""
    import vae_explorer.core.labelled.job as job_module
    from vae_explorer.core.training import TrainingFailed

    seen = []

    def m2_loss(nets, *args):
        loss, parts = real(nets, *args)
        seen.append({k: v.clone() for k, v in nets.state_dict().items()})
        return (loss * float("nan") if len(seen) == 7 else loss), parts

    real = job_module.m2_loss
    monkeypatch.setattr(job_module, "m2_loss", m2_loss)
    monkeypatch.setattr(job_module, "unsupported", lambda nets: "forced for this test")  # (autograd)
    folder = make_idx_folder(400, 50)
    config = LabelledConfig("m2", 2, 16, "bernoulli", 16)
    job = LabelledJob(config, TrainConfig(epochs=3, batch_size=50, log_every=2, device="cpu"), labels=20,
                      labelled_batch=10, dataset=str(folder))  # fmt: skip
    events = list(run_labelled_job(job))
    assert any(isinstance(e, TrainingFailed) for e in events) and len(seen) == 7
    state = [e for e in events if isinstance(e, Snapshot)][-1].state_dict
    restored = {k.removeprefix("m2."): v for k, v in state.items()}
    assert not all(torch.equal(restored[k], seen[6][k]) for k in seen[6])  # not the bad ones
    assert all(torch.equal(restored[k], seen[4][k]) for k in seen[4])  # the last checked (log_every)


def test_m1_hands_the_views_and_recovery_snapshots_of_the_whole_model(make_idx_folder):
    """M1+M2's M1 phase (30 epochs by default, minutes on a slow machine) hands over
    snapshots of the labelled model as M1 trains: the live views and the window's recovery
    copy followed only M2 before. Each holds M1's weights then, and the M1 history so far."""
    folder = make_idx_folder(200, 50)
    config = LabelledConfig("m1m2", 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    train_config = TrainConfig(
        epochs=1, batch_size=50, device="cpu", snapshot_every=1000, snapshot_seconds=1e-9
    )
    job = LabelledJob(config, train_config, labels=20, m1_epochs=2, labelled_batch=10, dataset=str(folder))
    snaps = [e for e in run_labelled_job(job) if isinstance(e, Snapshot)]
    m1_phase = [s for s in snaps if 0 < s.epoch <= 2]  # (M1: its defaults, batches of 100)
    assert [(s.epoch, s.batch) for s in m1_phase] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(s.config == snaps[0].config for s in m1_phase)  # the whole model, uncut yet
    assert [len(s.history) for s in m1_phase] == [0, 1, 1, 2]
    assert all(s.metadata["epochs_completed"] == 0 for s in m1_phase)
    assert all(r["phase"] == "m1" for r in m1_phase[-1].history)
    assert m1_phase[0].test_mu is not None and m1_phase[0].test_mu.shape == (50, 2)
    m1_keys = [k for k in snaps[0].state_dict if k.startswith("m1.")]
    assert m1_keys
    changed = lambda a, b: any(not torch.equal(a.state_dict[k], b.state_dict[k]) for k in m1_keys)  # noqa: E731
    assert changed(snaps[0], m1_phase[0]) and changed(m1_phase[0], m1_phase[-1])


@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("stop_at", [(2, None), (1, 2)])  # an epoch's end; mid-epoch 1
def test_an_m1m2_run_stopped_in_its_m1_phase_ends_with_the_weights_it_stopped_at(
    make_idx_folder, live, stop_at
):
    """The stop's snapshot is the run's last: a second one, labelled an epoch back, used to
    follow it (and, stopped in the first epoch, one of "no epoch": the window took that for
    an untrained model and dropped its recovery copy)."""
    from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainingControl

    folder = make_idx_folder(600, 50)
    config = LabelledConfig("m1m2", 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    train_config = TrainConfig(epochs=1, batch_size=50, device="cpu", log_every=2, snapshot_every=1000 * live)
    job = LabelledJob(config, train_config, labels=20, m1_epochs=5, labelled_batch=10, dataset=str(folder))
    control = TrainingControl()
    events: list = []
    asked = 0  # events before the stop was asked for
    for ev in run_labelled_job(job, control):
        events.append(ev)
        epoch, batch = stop_at
        at_epoch_end = batch is None and isinstance(ev, EpochSummary) and ev.epoch == epoch
        if not asked and (at_epoch_end or isinstance(ev, BatchMetrics) and (ev.epoch, ev.batch) == stop_at):
            control.stop()
            asked = len(events)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    after = events[asked:]
    assert [type(e) for e in after if not isinstance(e, (BatchMetrics, EpochSummary))] == [
        Snapshot,
        TrainingFinished,
    ]  # one snapshot after the stop, the last event but one
    assert events[-1].stopped and isinstance(events[-2], Snapshot)
    last = snaps[-1]
    m1_done = 2 if stop_at[1] is None else 0
    assert len(last.history) == m1_done and (last.batch > 0 or last.history)  # trained: kept
    assert last.metadata["m1_epochs"] == m1_done == events[-1].metadata["m1_epochs"]
    assert events[-1].metadata["test_metrics"] is None  # M2 never trained: nothing to score (fast Stop)
    if not live:  # the CLI: no snapshot in the M1 phase but the stop's
        assert snaps == [last]

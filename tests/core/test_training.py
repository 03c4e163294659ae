import threading

import numpy as np
import pytest
import torch

from vae_explorer.core.devices import DeviceError, available_devices, resolve_device
from vae_explorer.core.model import VAE, ConfigError, VAEConfig
from vae_explorer.core.training import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainConfig,
    TrainingControl,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    train,
)
from vae_explorer.core.training.mlp_step import MLPStep


def _run(model, images, **kw):
    test = kw.pop("test", None)
    control = kw.pop("control", None)
    return list(train(model, images, TrainConfig(**kw), test, control))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize(("latent", "batch"), [(3, 8), (1, 1), (5, 3)])
def test_hand_written_gradients_match_autograd(likelihood, latent, batch, autograd_step):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=latent, hidden_dim=20, likelihood=likelihood))
    x = torch.rand(batch, 784)
    eps = torch.randn(batch, latent)
    beta = 0.7
    recon, kl = MLPStep(m, beta)(x, eps)
    fast = {n: p.grad.clone() for n, p in m.named_parameters()}
    recon_ref, kl_ref, ref = autograd_step(m, x, eps, beta)
    assert torch.allclose(recon, recon_ref, rtol=1e-5)
    assert torch.allclose(kl, kl_ref, rtol=1e-5)
    for n in ref:
        assert torch.allclose(fast[n], ref[n], rtol=1e-4, atol=1e-6), n


def test_the_step_fills_gradients_someone_else_replaced(autograd_step):
    """The step keeps its gradient buffers between calls; after zero_grad(set_to_none=True)
    (or any new .grad) it binds fresh ones, so an optimizer reading p.grad sees its results."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    x, eps = torch.rand(4, 784), torch.randn(4, 2)
    step = MLPStep(m, 1.0)
    step(x, eps)
    for p in m.parameters():
        p.grad = None
    step(x, eps)
    fast = {n: p.grad.clone() for n, p in m.named_parameters()}
    _, _, ref = autograd_step(m, x, eps, 1.0)
    for n in ref:
        assert torch.allclose(fast[n], ref[n], rtol=1e-4, atol=1e-6), n


def test_event_stream_and_learning(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=64))
    events = _run(m, small_images, epochs=3, batch_size=50, log_every=10, lr=2e-3,
                  test=small_images[:500])  # fmt: skip
    assert isinstance(events[0], TrainingStarted) and events[0].batches_per_epoch == 40
    batches = [e for e in events if isinstance(e, BatchMetrics)]
    epochs = [e for e in events if isinstance(e, EpochSummary)]
    snaps = [e for e in events if isinstance(e, Snapshot)]
    # Every 10th batch, plus the run's first batch at once (issue 9: something moves early).
    assert len(batches) == 13 and len(epochs) == 3 and len(snaps) == 3
    assert (batches[0].epoch, batches[0].batch) == (1, 1) and batches[1].batch == 10
    assert "Epoch" in type(epochs[0]).__name__
    assert all(np.isclose(b.loss, b.recon + b.kl) for b in batches)
    assert epochs[-1].train_loss < epochs[0].train_loss - 5  # it learns
    assert epochs[-1].test_elbo > epochs[0].test_elbo
    assert snaps[-1].test_mu.shape == (500, 2) and snaps[-1].test_logvar.shape == (500, 2)
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    assert [h["epoch"] for h in finished.history] == [1, 2, 3]


def test_snapshot_is_a_copy_the_consumer_owns(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    snaps = [e for e in _run(m, small_images[:400], epochs=2, batch_size=100, test=small_images[:50])
             if isinstance(e, Snapshot)]  # fmt: skip
    first = snaps[0].state_dict["enc_hidden.weight"]
    assert not torch.equal(first, m.enc_hidden.weight.detach())  # trained on after the copy
    assert first.data_ptr() != m.enc_hidden.weight.data_ptr()


def test_mid_epoch_snapshots(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    snaps = [e for e in _run(m, small_images, epochs=1, batch_size=100, snapshot_every=5)
             if isinstance(e, Snapshot)]  # fmt: skip
    assert [(s.epoch, s.batch) for s in snaps] == [(0, 0), (1, 5), (1, 10), (1, 15), (1, 20)]
    assert snaps[0].test_mu is None


def test_mid_epoch_snapshots_by_time_where_an_epoch_is_slow(small_images):
    """snapshot_seconds: a snapshot once that much training time has passed, even where
    snapshot_every (batches) never falls inside the epoch; 0 keeps to the batch count."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))

    def mid(seconds):
        events = _run(m, small_images[:600], epochs=1, batch_size=100, snapshot_every=10**6,
                      snapshot_seconds=seconds)  # fmt: skip
        return [(s.epoch, s.batch) for s in events if isinstance(s, Snapshot)]

    assert mid(1e-9) == [(0, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6)]
    assert mid(0.0) == [(0, 0), (1, 6)]


def test_the_snapshot_clock_restarts_with_each_snapshot(monkeypatch):
    from vae_explorer.core.training import live_snapshots

    now = [0.0]
    monkeypatch.setattr(live_snapshots.time, "perf_counter", lambda: now[0])
    live = live_snapshots.LiveSnapshots(every=100, seconds=1.0)
    assert not live.due(1, 600)
    now[0] = 1.2
    assert live.due(2, 600) and not live.due(600, 600)  # (the epoch's end has its own)
    live.taken()
    now[0] = 2.0
    assert not live.due(3, 600) and live.due(100, 600)  # by count still
    now[0] = 2.3
    assert live.due(4, 600)
    assert not live_snapshots.LiveSnapshots(every=0, seconds=1.0).due(4, 600)  # live views off


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf"), True, "1"])
def test_snapshot_seconds_must_be_a_number_of_seconds(seconds):
    with pytest.raises(ConfigError, match="snapshot_seconds"):
        TrainConfig(snapshot_seconds=seconds)


def test_live_snapshots_start_with_the_initial_weights(small_images):
    """With snapshot_every a run hands over its untrained weights first (epoch 0), so a live
    view shows the new model from the start; its history is empty."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    initial = {k: v.clone() for k, v in m.state_dict().items()}
    events = _run(m, small_images[:400], epochs=1, batch_size=100, test=small_images[:50], snapshot_every=100)
    first = next(e for e in events if isinstance(e, Snapshot))
    assert isinstance(events[0], TrainingStarted) and events[1] is first
    assert (first.epoch, first.batch, first.history) == (0, 0, [])
    assert all(torch.equal(first.state_dict[k], v) for k, v in initial.items())
    assert first.test_mu is not None and first.test_mu.shape == (50, 2)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_same_seed_same_losses(small_images, arch):
    def losses():
        torch.manual_seed(1)
        m = VAE(VAEConfig(hidden_dim=16, arch=arch))
        return [e.loss for e in _run(m, small_images[:600], epochs=2, batch_size=60, log_every=5,
                                     seed=3) if isinstance(e, BatchMetrics)]  # fmt: skip

    a, b = losses(), losses()
    assert a == b and len(a) == 5  # every 5th of 10 batches per epoch, plus the first


def test_stop_takes_effect_within_one_batch(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    control = TrainingControl()
    gen = train(m, small_images, TrainConfig(epochs=5, batch_size=10, log_every=1), None, control)
    seen = []
    for ev in gen:
        if isinstance(ev, BatchMetrics):
            seen.append(ev.batch)
            if ev.batch == 3:
                control.stop()
        if isinstance(ev, TrainingFinished):
            assert ev.stopped
    assert seen == [1, 2, 3]


def test_pause_blocks_until_resumed(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    control = TrainingControl()
    gen = train(m, small_images[:200], TrainConfig(epochs=1, batch_size=10, log_every=1), None,
                control)  # fmt: skip
    next(gen)  # started
    control.pause()
    threading.Timer(0.3, control.resume).start()
    ev = next(gen)
    assert isinstance(ev, BatchMetrics) and not control.paused


def test_diverging_run_stops_and_restores_last_good_weights(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=64))
    events = _run(m, small_images, epochs=3, batch_size=20, log_every=1, lr=1e9)
    failed = [e for e in events if isinstance(e, TrainingFailed)]
    assert failed and "non-finite" in failed[0].message and "learning rate" in failed[0].message
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert not any(isinstance(e, TrainingFinished) for e in events)


@pytest.mark.parametrize("lr", [1e6, 30.0])
def test_the_restored_weights_are_ones_a_finite_loss_was_measured_at(small_images, lr):
    """A huge step can leave finite weights whose loss is not: the weights kept are those
    the last finite window's losses were measured at, not the ones after its last step."""
    from vae_explorer.core.evaluation import evaluate

    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=32))
    events = _run(m, small_images, epochs=2, batch_size=20, log_every=5, lr=lr)
    assert any(isinstance(e, TrainingFailed) for e in events)
    metrics = evaluate(m, small_images[:200])
    assert all(np.isfinite(metrics[k]) for k in ("elbo", "recon", "kl")), metrics


def test_batch_larger_than_dataset_uses_whole_set(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=8))
    events = _run(m, small_images[:30], epochs=1, batch_size=1000)
    assert events[0].batches_per_epoch == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"batch_size": -5}, {"lr": 0}, {"lr": float("nan")}, {"beta": -1},
     {"lr_schedule": "zigzag"}, {"matmul_precision": "int8"}],
)  # fmt: skip
def test_bad_train_config_is_refused(kwargs):
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)


def test_devices():
    assert available_devices()[-1] == "cpu"
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == available_devices()[0]
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA"):
            resolve_device("cuda")
        with pytest.raises(DeviceError):
            train(VAE(), np.zeros((10, 784), np.float32), TrainConfig(device="cuda"))


def test_cosine_schedule_decays_lr(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=8))
    epochs = [e for e in _run(m, small_images[:500], epochs=3, batch_size=100, lr=1e-2,
                              lr_schedule="cosine") if isinstance(e, EpochSummary)]  # fmt: skip
    lrs = [e.lr for e in epochs]
    assert lrs[0] > lrs[1] > lrs[2] > 0


def test_weight_average_is_what_the_run_leaves_and_snapshots(small_images):
    torch.manual_seed(0)
    raw = VAE(VAEConfig(hidden_dim=16))
    torch.manual_seed(0)
    averaged = VAE(VAEConfig(hidden_dim=16))
    _run(raw, small_images[:1000], epochs=2, batch_size=50)
    events = _run(averaged, small_images[:1000], epochs=2, batch_size=50, ema_decay=0.9)
    snap = [e for e in events if isinstance(e, Snapshot)][-1]
    # Same seed, same steps: only the averaging differs, so the weights must differ...
    assert not torch.allclose(raw.dec_out.weight, averaged.dec_out.weight)
    # ...and the final snapshot holds exactly the weights the model is left with.
    for k, v in averaged.state_dict().items():
        assert torch.equal(snap.state_dict[k], v)
    with pytest.raises(ConfigError):
        TrainConfig(ema_decay=1.0)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_bf16_products_give_nearly_the_fp32_gradients(likelihood):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=2, hidden_dim=64, likelihood=likelihood))
    x = torch.rand(32, 784)
    eps = torch.randn(32, 2)
    grads = []
    for bf16 in (False, True):
        MLPStep(m, 1.0, bf16_products=bf16)(x, eps)
        grads.append({n: p.grad.clone() for n, p in m.named_parameters()})
    for n, exact in grads[0].items():
        err = (grads[1][n] - exact).norm() / exact.norm().clamp_min(1e-12)
        assert err < 0.05, (n, float(err))


def test_precision_choice():
    from vae_explorer.core.training import use_bf16_products

    cpu = torch.device("cpu")
    assert use_bf16_products("bfloat16", cpu) and not use_bf16_products("float32", cpu)
    assert not use_bf16_products("auto", torch.device("meta"))

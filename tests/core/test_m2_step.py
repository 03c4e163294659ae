"""M2's hand-derived step against autograd of m2_loss: the loss, its parts and every
gradient, for each configuration the labelled job trains; its bf16 products; and the job's
use of it (the run's precision, the fallback to autograd, non-finite losses, the seed).
The comparisons run in float32: m2_loss itself takes the ELBO terms to float32."""

from __future__ import annotations

import pytest
import torch

import vae_explorer.core.labelled.job as job_module
from vae_explorer.core.labelled import LabelledConfig, LabelledJob, LossWeights, M2Networks, m2_loss
from vae_explorer.core.labelled.m2_step import M2Draws, M2Step, unsupported
from vae_explorer.core.model import as_image_tensor
from vae_explorer.core.training import Snapshot, TrainConfig, TrainingFailed, TrainingFinished

BATCH = LossWeights.oversampled(12, 9, 100, 60_000)  # the job's default ("batch")
PAPER = LossWeights.for_split(100, 59_900, alpha=0.1)  # labelled_weight="paper"
ALL_LABELLED = LossWeights.oversampled(12, 0, 500, 500)  # labels=None: a conditional VAE


def _nets(kind="m2", likelihood="bernoulli", latent=3, dropout=0.0, scale=1.0) -> M2Networks:
    torch.manual_seed(0)
    config = LabelledConfig(kind, latent, 24, likelihood, 20, m1_latent_dim=7, m1_hidden_dim=12,
                            classifier_dropout=dropout)  # fmt: skip
    nets = M2Networks(config)
    with torch.no_grad():  # larger weights: saturated tanh units, confident q(y|x)
        for p in nets.parameters():
            p.mul_(scale)
        if kind == "m1m2":  # feature log-variances on both sides of the clamp's range
            nets.dec_logvar.bias.copy_(torch.linspace(-12.0, 9.0, nets.dec_logvar.bias.shape[0]))
    return nets


def _batch(nets: M2Networks, small_images, labelled=12, unlabelled=9):
    if nets.config.kind == "m2":
        x = as_image_tensor(small_images[: labelled + unlabelled])
    else:
        x = torch.randn(
            labelled + unlabelled, nets.config.data_dim, generator=torch.Generator().manual_seed(5)
        )
    y = torch.arange(labelled) % nets.config.classes
    return x[:labelled], y, x[labelled:]


def _reference(nets, x_l, y, x_u, weights, seed, masks=None, monkeypatch=None):
    """m2_loss's loss, parts and gradients; ``masks``: the step's dropout masks, which
    stand in for F.dropout's (labelled images' two layers first, then the unlabelled)."""
    if masks is not None:
        bl = x_l.shape[0]
        queue = [masks[0][:bl], masks[1][:bl], masks[0][bl:], masks[1][bl:]]
        monkeypatch.setattr(torch.nn.functional, "dropout", lambda h, p, *a, **k: h * queue.pop(0))
    nets.zero_grad(set_to_none=True)
    loss, parts = m2_loss(nets, x_l, y, x_u, weights, torch.Generator().manual_seed(seed))
    loss.backward()
    grads = {name: p.grad.clone() for name, p in nets.named_parameters()}
    if masks is not None:
        assert not queue  # every mask was used
        monkeypatch.undo()
    return loss.detach(), {k: v.detach() for k, v in parts.items()}, grads


def _hand(nets, x_l, y, x_u, weights, seed, bf16=False):
    step = M2Step(nets, bf16)
    used = x_u.shape[0] if weights.unlabelled_share > 0 else 0
    draws = step.draws(x_l.shape[0], used, torch.Generator().manual_seed(seed))
    loss, parts = step(x_l, y, x_u, weights, draws)
    return loss, parts, {name: p.grad.clone() for name, p in nets.named_parameters()}, draws


@pytest.mark.parametrize(
    ("kind", "likelihood", "weights", "unlabelled", "scale"),
    [
        ("m2", "bernoulli", BATCH, 9, 1.0),
        ("m2", "bernoulli", BATCH, 9, 4.0),
        ("m2", "bernoulli", PAPER, 9, 1.0),
        ("m2", "bernoulli", ALL_LABELLED, 0, 1.0),
        ("m2", "bernoulli", LossWeights(0.5, 0.0, 3.0), 9, 1.0),  # unlabelled images unused
        ("m2", "gaussian", BATCH, 9, 2.0),
        ("m1m2", "bernoulli", BATCH, 9, 1.0),
        ("m1m2", "gaussian", ALL_LABELLED, 0, 2.0),
    ],
)
def test_the_step_matches_autograd_of_m2_loss(small_images, kind, likelihood, weights, unlabelled, scale):
    nets = _nets(kind, likelihood, scale=scale)
    x_l, y, x_u = _batch(nets, small_images, unlabelled=unlabelled)
    loss, parts, grads, _ = _hand(nets, x_l, y, x_u, weights, seed=3)
    ref_loss, ref_parts, ref = _reference(nets, x_l, y, x_u, weights, seed=3)
    _assert_same(loss, parts, grads, ref_loss, ref_parts, ref)


def test_the_step_matches_autograd_with_dropout_on_the_classifier(small_images, monkeypatch):
    nets = _nets(dropout=0.5)
    x_l, y, x_u = _batch(nets, small_images)
    loss, parts, grads, draws = _hand(nets, x_l, y, x_u, BATCH, seed=4)
    assert draws.masks is not None and {float(v) for v in draws.masks[0].unique()} == {0.0, 2.0}
    ref_loss, ref_parts, ref = _reference(nets, x_l, y, x_u, BATCH, 4, draws.masks, monkeypatch)
    _assert_same(loss, parts, grads, ref_loss, ref_parts, ref)
    nets.eval()  # no dropout outside training (as class_logits)
    assert M2Step(nets).draws(3, 2).masks is None


def _assert_same(loss, parts, grads, ref_loss, ref_parts, ref):
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    assert parts.keys() == ref_parts.keys()
    for k in ref_parts:
        torch.testing.assert_close(parts[k], ref_parts[k], rtol=1e-5, atol=1e-5, msg=k)
    assert grads.keys() == ref.keys()
    for name, g in ref.items():
        assert g is not None and grads[name] is not None, name
        # Tight against the largest entry: a dropped term moves some entry by far more.
        scale = float(g.abs().max())
        torch.testing.assert_close(grads[name], g, rtol=1e-4, atol=1e-5 * scale, msg=name)


def test_bf16_products_stay_close_to_the_float32_step(small_images):
    torch.manual_seed(0)
    nets = M2Networks(LabelledConfig("m2", 40, 64, "bernoulli", 48))  # every side but the classes >= 32
    x_l, y, x_u = _batch(nets, small_images, 16, 16)
    weights = LossWeights.oversampled(16, 16, 100, 60_000)
    loss, parts, exact, _ = _hand(nets, x_l, y, x_u, weights, seed=1)
    step = M2Step(nets, bf16_products=True)
    low_loss, low_parts = step(x_l, y, x_u, weights, step.draws(16, 16, torch.Generator().manual_seed(1)))
    low = {name: p.grad.clone() for name, p in nets.named_parameters()}
    # Every product but q(y|x)'s output layer (10 classes) took bf16 operands.
    assert {k for k, w in step._p.weights.items() if w.dtype == torch.bfloat16} == {
        "x",
        "cls2",
        "heads",
        "decz",
        "outs",
    }
    assert abs(float(low_loss - loss)) < 0.01 * abs(float(loss))
    for k in parts:
        assert abs(float(low_parts[k] - parts[k])) < 0.01 * abs(float(parts[k])) + 1e-3, k
    for name, g in exact.items():
        err = float((low[name] - g).norm() / g.norm().clamp_min(1e-12))
        assert err < 0.1, (name, err)  # a few bf16 roundings deep


def test_the_step_runs_off_the_cpu():
    """On the meta device (shapes only): no CPU-only tensor or call in the step."""
    nets = M2Networks(LabelledConfig("m2", 40, 64, "bernoulli", 48, classifier_dropout=0.3)).to("meta")
    for bf16 in (False, True):
        step = M2Step(nets, bf16)
        x = torch.empty(10, 784, device="meta")
        loss, parts = step(x, torch.zeros(10, dtype=torch.long, device="meta"), x, BATCH, step.draws(10, 10))
        assert loss.device.type == "meta" and loss.shape == () and set(parts) >= {"labelled", "unlabelled"}
        assert all(p.grad is not None and p.grad.device.type == "meta" for p in nets.parameters())


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_the_step_is_the_same_to_the_bit_at_one_and_two_threads(two_threads, small_images, kind, bf16):
    """The job's thread tuner switches between one thread and all under load: no result may
    change with it (element-wise kernels split across threads, BLAS on narrow products)."""
    config = LabelledConfig(kind, 40, 128, "bernoulli", 128, m1_latent_dim=40, m1_hidden_dim=12,
                            classifier_dropout=0.2)  # fmt: skip
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        nets = M2Networks(config)
        x_l, y, x_u = _batch(nets, small_images, 50, 50)
        loss, parts, grads, _ = _hand(nets, x_l, y, x_u, BATCH, seed=1, bf16=bf16)
        results.append((loss, parts, grads))
    (loss, parts, grads), (loss2, parts2, grads2) = results
    assert torch.equal(loss, loss2) and all(torch.equal(parts[k], parts2[k]) for k in parts)
    assert [n for n in grads if not torch.equal(grads[n], grads2[n])] == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_step_on_a_gpu_matches_the_cpu_step(small_images):
    nets = _nets(dropout=0.3)
    x_l, y, x_u = _batch(nets, small_images)
    loss, parts, grads, draws = _hand(nets, x_l, y, x_u, BATCH, seed=2)
    nets = nets.cuda()
    masks = (draws.masks[0].cuda(), draws.masks[1].cuda())
    moved = M2Draws(draws.eps_l.cuda(), draws.eps_u.cuda(), masks)
    step = M2Step(nets)
    gpu_loss, _ = step(x_l.cuda(), y.cuda(), x_u.cuda(), BATCH, moved)
    torch.testing.assert_close(gpu_loss.cpu(), loss, rtol=1e-4, atol=1e-4)
    for name, p in nets.named_parameters():
        scale = float(grads[name].abs().max())
        torch.testing.assert_close(p.grad.cpu(), grads[name], rtol=1e-3, atol=1e-4 * scale, msg=name)


def test_a_gradient_set_to_none_is_filled_again(small_images):
    nets = _nets()
    x_l, y, x_u = _batch(nets, small_images)
    step = M2Step(nets)
    step(x_l, y, x_u, BATCH, step.draws(12, 9, torch.Generator().manual_seed(0)))
    first = {n: p.grad.clone() for n, p in nets.named_parameters()}
    nets.zero_grad(set_to_none=True)
    step(x_l, y, x_u, BATCH, step.draws(12, 9, torch.Generator().manual_seed(0)))
    for n, p in nets.named_parameters():
        assert p.grad is not None and torch.equal(p.grad, first[n]), n


def test_what_the_step_does_not_cover_is_named():
    class Other(M2Networks):
        pass

    assert unsupported(M2Networks(LabelledConfig("m2", 2, 8, "gaussian", 8))) is None
    assert "not the M2Networks" in unsupported(Other(LabelledConfig("m2", 2, 8)))
    assert "float32 or all float64" in unsupported(M2Networks(LabelledConfig("m2", 2, 8)).half())
    with pytest.raises(ValueError, match="float32 or all float64"):
        M2Step(M2Networks(LabelledConfig("m2", 2, 8)).bfloat16())


# --- the job ------------------------------------------------------------------------------
def _job(folder, kind="m2", **train):
    config = LabelledConfig(kind, 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    train_config = TrainConfig(**{"epochs": 1, "batch_size": 50, "device": "cpu", **train})
    return LabelledJob(config, train_config, labels=20, m1_epochs=1, labelled_batch=10, dataset=str(folder))


@pytest.mark.parametrize(("precision", "low"), [("float32", False), ("bfloat16", True)])
@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_the_job_trains_m2_with_the_hand_step_at_the_runs_precision(
    make_idx_folder, monkeypatch, kind, precision, low
):
    """M2 through the hand step with bf16 products when the precision asks for them
    (auto: on CPUs with native bf16), float32 otherwise; M1's VAE gets the same setting."""
    made, calls, m1 = [], [], []
    real_call, real_train = M2Step.__call__, job_module.train

    def hand_step(nets, bf16):
        made.append(bf16)
        return M2Step(nets, bf16)

    def counted(self, *args):
        calls.append(1)
        return real_call(self, *args)

    def train(model, images, config, *args):
        m1.append(config.matmul_precision)
        return real_train(model, images, config, *args)

    monkeypatch.setattr(job_module, "_hand_step", hand_step)
    monkeypatch.setattr(M2Step, "__call__", counted)
    monkeypatch.setattr(job_module, "train", train)
    monkeypatch.setattr(job_module, "m2_loss", lambda *a, **k: pytest.fail("autograd path used"))
    job = _job(make_idx_folder(200, 50), kind, matmul_precision=precision)
    finished = list(job_module.run_labelled_job(job))[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    assert made == [low] and len(calls) == 3  # 180 unlabelled images, batches of 50
    assert m1 == ([precision] if kind == "m1m2" else [])


def test_where_the_step_does_not_apply_the_job_uses_autograd(make_idx_folder, monkeypatch):
    autocast = []
    real = job_module.m2_loss

    def m2_loss(*args, **kwargs):
        autocast.append(torch.is_autocast_enabled("cpu"))
        return real(*args, **kwargs)

    monkeypatch.setattr(job_module, "unsupported", lambda nets: "not covered")
    monkeypatch.setattr(job_module, "m2_loss", m2_loss)
    job = _job(make_idx_folder(200, 50), matmul_precision="bfloat16")
    finished = list(job_module.run_labelled_job(job))[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    assert autocast and set(autocast) == {True}


def test_a_non_finite_loss_from_the_step_restores_weights_a_finite_loss_was_measured_at(
    make_idx_folder, monkeypatch
):
    seen = []
    real = M2Step.__call__

    def step(self, *args):
        loss, parts = real(self, *args)
        seen.append({k: v.clone() for k, v in self.nets.state_dict().items()})
        return (loss * float("nan") if len(seen) == 7 else loss), parts

    monkeypatch.setattr(M2Step, "__call__", step)
    job = _job(make_idx_folder(400, 50), epochs=3, log_every=2)
    events = list(job_module.run_labelled_job(job))
    assert any(isinstance(e, TrainingFailed) for e in events) and len(seen) == 7
    state = [e for e in events if isinstance(e, Snapshot)][-1].state_dict
    restored = {k.removeprefix("m2."): v for k, v in state.items()}
    assert not all(torch.equal(restored[k], seen[6][k]) for k in seen[6])  # not the bad ones
    assert all(torch.equal(restored[k], seen[4][k]) for k in seen[4])  # the last checked (log_every)


def test_a_run_with_the_hand_step_is_reproducible_with_its_seed(make_idx_folder):
    folder = make_idx_folder(200, 50)
    job = _job(folder, epochs=2)
    runs = [
        [e for e in job_module.run_labelled_job(job) if isinstance(e, Snapshot)][-1].state_dict
        for _ in range(2)
    ]
    assert runs[0].keys() == runs[1].keys()
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])

"""The hand-derived step for deeper MLPs and other activations, against autograd."""

import pytest
import torch

from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import TrainConfig, TrainingFinished, train
from vae_explorer.core.training.layered_step import LayeredMLPStep
from vae_explorer.core.training.loop import _fast_step
from vae_explorer.core.training.mlp_step import MLPStep


@pytest.mark.parametrize(
    "hidden, activation, likelihood",
    [
        ((24, 16), "tanh", "bernoulli"),
        (20, "relu", "bernoulli"),
        ((18, 12, 10), "softplus", "gaussian"),
        ((16, 16), "relu", "gaussian"),
    ],
)
def test_layered_step_matches_autograd(hidden, activation, likelihood, autograd_step):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=3, hidden_dim=hidden, likelihood=likelihood, activation=activation))
    with torch.no_grad():  # some pre-activations below zero, some above: relu's kink is used
        for p in m.parameters():
            p.mul_(3.0)
    x = torch.rand(9, 784)
    eps = torch.randn(9, 3)
    recon, kl = LayeredMLPStep(m, beta=0.6)(x, eps)
    fast = {n: p.grad.clone() for n, p in m.named_parameters()}
    recon_ref, kl_ref, ref = autograd_step(m, x, eps, 0.6)
    assert torch.allclose(recon, recon_ref, rtol=1e-5)
    assert torch.allclose(kl, kl_ref, rtol=1e-5)
    assert set(fast) == set(ref)
    for n in ref:
        assert torch.allclose(fast[n], ref[n], rtol=1e-4, atol=1e-6), n


@pytest.mark.parametrize(
    "hidden, activation, likelihood",
    [((128, 96), "relu", "bernoulli"), (100, "softplus", "gaussian"), ((80, 64, 64), "tanh", "bernoulli")],
)
def test_bf16_products_give_nearly_the_fp32_gradients(hidden, activation, likelihood):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=4, hidden_dim=hidden, likelihood=likelihood, activation=activation))
    x, eps = torch.rand(32, 784), torch.randn(32, 4)
    results = []
    for bf16 in (False, True):
        step = LayeredMLPStep(m, 1.0, bf16_products=bf16)
        assert bool(step._low) == bf16  # the large layers' products do take bf16 operands
        recon, kl = step(x, eps, x.to(torch.bfloat16) if bf16 else None)
        results.append((float(recon), float(kl), {n: p.grad.clone() for n, p in m.named_parameters()}))
    (recon, kl, exact), (recon_low, kl_low, low) = results
    # Every large layer's weight gradient came from the bf16 product (its bf16 input kept).
    step, fed = LayeredMLPStep(m, 1.0, bf16_products=True), []
    real = step._weight_grads
    step._weight_grads = lambda layer, d, h, h_low, back: (
        fed.append(h_low is not None) or real(layer, d, h, h_low, back)
    )
    step(x, eps, x.to(torch.bfloat16))
    assert fed.count(True) == len(step._low) > 0
    assert abs(recon_low - recon) < 0.01 * abs(recon) and abs(kl_low - kl) < 0.01 * abs(kl) + 1e-3
    for n, g in exact.items():
        err = (low[n] - g).norm() / g.norm().clamp_min(1e-12)
        assert err < 0.1, (n, float(err))  # two bf16 roundings deep: ~5% at random weights


def test_the_loop_gives_the_layered_step_the_runs_precision():
    cpu = torch.device("cpu")
    deep = VAE(VAEConfig(latent_dim=5, hidden_dim=(80, 64)))
    assert _fast_step(deep, TrainConfig(matmul_precision="bfloat16"), cpu).bf16
    assert not _fast_step(deep, TrainConfig(matmul_precision="float32"), cpu).bf16


def test_the_loop_picks_the_tuned_step_for_the_classic_shape_and_the_layered_one_otherwise():
    cpu = torch.device("cpu")
    config = TrainConfig(epochs=1)
    assert type(_fast_step(VAE(VAEConfig()), config, cpu)) is MLPStep
    deep = VAE(VAEConfig(latent_dim=5, hidden_dim=(20, 10)))
    assert type(_fast_step(deep, config, cpu)) is LayeredMLPStep
    relu = VAE(VAEConfig(latent_dim=5, hidden_dim=20, activation="relu"))
    assert type(_fast_step(relu, config, cpu)) is LayeredMLPStep
    assert _fast_step(VAE(VAEConfig(arch="conv", hidden_dim=32)), config, cpu) is None


def test_a_deep_relu_model_learns(small_images):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=4, hidden_dim=(64, 32), activation="relu"))
    events = list(train(m, small_images, TrainConfig(epochs=4, batch_size=50, lr=2e-3)))
    history = [e for e in events if isinstance(e, TrainingFinished)][-1].history
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 5


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_the_fused_likelihood_paths_follow_deeper_decoders(likelihood):
    from vae_explorer.core.importance import log_px_of_samples
    from vae_explorer.core.posterior.grid import log_likelihood_at

    torch.manual_seed(1)
    m = VAE(VAEConfig(latent_dim=2, hidden_dim=(30, 20), likelihood=likelihood, activation="softplus"))
    x = torch.rand(3, 784)
    z = torch.randn(3, 5, 2)
    plain = m.log_likelihood(x[:, None, :], m.decode_logits(z.reshape(-1, 2)).view(3, 5, -1))
    assert torch.allclose(log_px_of_samples(m, x, z), plain, rtol=1e-5, atol=1e-3)
    assert torch.allclose(log_likelihood_at(m, x, z), plain, rtol=1e-5, atol=1e-3)

"""The fused parts of the hand-derived MLP step: the Bernoulli loss read off the sigmoid,
the batch converted to bf16 once, the in-place gradient passes; all checked against
float64 references and autograd, including extreme logits where shortcuts break."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training.mlp_step import MLPStep, bernoulli_nll_sum


@pytest.mark.parametrize("shape", [(100, 784), (5, 150), (1, 3)])
def test_bernoulli_loss_from_the_sigmoid_matches_softplus(shape):
    torch.manual_seed(0)
    logits = torch.randn(shape) * 8
    flat = logits.view(-1)
    extremes = torch.tensor([200.0, -200.0, 88.0, -88.0, 17.0, -17.0, 0.0, 1e-6])
    flat[: min(len(extremes), flat.numel())] = extremes[: flat.numel()]
    x = torch.rand(shape)
    got = bernoulli_nll_sum(logits, x, torch.sigmoid(logits))
    ref = (F.softplus(logits.double()) - x.double() * logits.double()).sum()
    assert torch.isfinite(got)
    assert abs(float(got) - float(ref)) <= 1e-5 * float(ref.abs()) + 1e-3, (float(got), float(ref))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("beta", [0.0, 3.0])
def test_full_size_step_with_saturated_logits_matches_autograd(likelihood, beta, autograd_step):
    """The seed model's sizes, with the decoder scaled up so many logits are beyond +-17
    (where 1 - sigmoid underflows in float32)."""
    torch.manual_seed(1)
    m = VAE(VAEConfig(likelihood=likelihood))
    with torch.no_grad():
        m.dec_out.weight.mul_(100)
        m.enc_logvar.bias.fill_(-1.0)
    x = (torch.rand(100, 784) > 0.5).float()
    eps = torch.randn(100, 2)
    recon, kl = MLPStep(m, beta)(x, eps)
    fast = {n: p.grad.clone() for n, p in m.named_parameters()}
    recon_ref, kl_ref, grads = autograd_step(m, x, eps, beta)
    with torch.no_grad():
        logits = m.decode_logits(m.encode(x)[0] + torch.exp(0.5 * m.encode(x)[1]) * eps)
    assert (logits.abs() > 17).float().mean() > 0.1  # the test really reaches saturation
    assert torch.allclose(recon, recon_ref, rtol=1e-5), (recon, recon_ref)
    assert torch.allclose(kl, kl_ref, rtol=1e-5, atol=1e-6)
    for n, g in grads.items():
        assert torch.allclose(fast[n], g, rtol=1e-4, atol=1e-5), n


def test_bf16_batch_converted_once_gives_the_same_step():
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=64))
    x, eps = torch.rand(32, 784), torch.randn(32, 2)
    step = MLPStep(m, 1.0, bf16_products=True)
    per_step = step(x, eps)
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    given = step(x, eps, x.to(torch.bfloat16))
    assert [float(t) for t in per_step] == [float(t) for t in given]
    for n, p in m.named_parameters():
        assert torch.equal(p.grad, grads[n]), n


def test_low_precision_weights_follow_the_model():
    """The bf16 weight copies are refreshed in place each step: a changed weight is used."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=32))
    x, eps = torch.rand(16, 784), torch.randn(16, 2)
    step = MLPStep(m, 1.0, bf16_products=True)
    first = float(step(x, eps)[0])
    with torch.no_grad():
        m.dec_out.weight.mul_(3.0)
    assert float(step(x, eps)[0]) != first
    fresh = MLPStep(m, 1.0, bf16_products=True)
    assert float(fresh(x, eps)[0]) == float(step(x, eps)[0])


def test_a_huge_beta_gives_non_finite_gradients_not_an_exception():
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=16))
    recon, kl = MLPStep(m, 1e300)(torch.rand(8, 784), torch.randn(8, 2))
    assert torch.isfinite(recon) and torch.isfinite(kl)
    assert not all(torch.isfinite(p.grad).all() for p in m.parameters())


def test_bernoulli_loss_at_zero_logits_does_not_underflow():
    """Every factor of the chunked products is then 0.5, the smallest it can be."""
    logits = torch.zeros(100, 784)
    x = torch.rand(100, 784)
    got = bernoulli_nll_sum(logits, x, torch.sigmoid(logits))
    assert abs(float(got) - 100 * 784 * float(torch.log(torch.tensor(2.0, dtype=torch.float64)))) < 0.05


def _adam_pair(device: str):
    """The same model twice: one for torch.optim.Adam(fused=True), one for FusedAdam."""
    torch.manual_seed(0)
    a = VAE(VAEConfig(latent_dim=3, hidden_dim=16)).to(device)
    b = VAE(VAEConfig(latent_dim=3, hidden_dim=16)).to(device)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))],
)
def test_direct_fused_adam_matches_torch_adam_bit_for_bit(device):
    from vae_explorer.core.training.mlp_step import FusedAdam

    a, b = _adam_pair(device)
    reference = torch.optim.Adam(a.parameters(), lr=3e-3, fused=True)
    ours = FusedAdam(b.parameters(), lr=3e-3)
    x = torch.rand(10, 784, device=device)
    for step in range(6):
        lr = 3e-3 * (1 - step / 6)  # the loop changes lr between steps (cosine schedule)
        reference.param_groups[0]["lr"] = lr
        ours.param_groups[0]["lr"] = lr
        eps = torch.randn(10, 3, device=device)
        MLPStep(a, 1.0)(x, eps)
        MLPStep(b, 1.0)(x, eps)
        reference.step()
        ours.step()
        for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q), (step, name, float((p - q).abs().max()))
    assert not torch.equal(a.enc_hidden.weight, _adam_pair(device)[0].enc_hidden.weight)  # it moved


def test_direct_fused_adam_refuses_a_missing_gradient():
    from vae_explorer.core.training.mlp_step import FusedAdam

    m = VAE(VAEConfig(latent_dim=2, hidden_dim=4))
    with pytest.raises(RuntimeError, match="no gradient"):
        FusedAdam(m.parameters(), lr=1e-3).step()

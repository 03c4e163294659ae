"""The model's tanh, computed through torch's (several times faster) sigmoid kernel on a
CPU: the values and gradients of torch.tanh, in and out of autograd."""

from __future__ import annotations

import torch

from vae_explorer.core.activations import tanh
from vae_explorer.core.model import VAE, VAEConfig


def test_values_match_torch_tanh_everywhere():
    a = torch.cat([torch.linspace(-30, 30, 20001), torch.tensor([0.0, 1e-8, -1e-8, 88.0, -88.0])])
    assert (tanh(a) - torch.tanh(a)).abs().max() < 2e-7
    assert torch.isfinite(tanh(torch.tensor([1e30, -1e30]))).all()


def test_gradients_match_torch_tanh():
    a = torch.linspace(-4, 4, 4001, requires_grad=True)
    weights = torch.randn(a.shape)
    (tanh(a) * weights).sum().backward()
    ours = a.grad.clone()
    a.grad = None
    (torch.tanh(a) * weights).sum().backward()
    assert torch.allclose(ours, a.grad, rtol=2e-3, atol=1e-6)


def test_outside_autograd_the_input_is_left_alone():
    a = torch.randn(50)
    before = a.clone()
    with torch.no_grad():
        tanh(a)
    assert torch.equal(a, before)


def test_the_vae_decodes_as_with_torch_tanh():
    torch.manual_seed(0)
    m = VAE(VAEConfig(hidden_dim=64))
    z = torch.randn(20, 2)
    with torch.no_grad():
        ours = m.decode_logits(z)
        m._act = torch.tanh
        exact = m.decode_logits(z)
    assert torch.allclose(ours, exact, atol=1e-5)


def test_half_precision_inputs_take_torch_tanh():
    """In bf16 the sigmoid form would lose small values (tanh(0.001) would be 0)."""
    a = torch.tensor([0.001, -0.002, 0.5, 3.0], dtype=torch.bfloat16)
    assert torch.equal(tanh(a), torch.tanh(a))

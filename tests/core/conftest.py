"""Fixtures for the core tests."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import pytest
import torch

import vae_explorer.core.activations as activations
from vae_explorer.core.model import VAE, kl_divergence

AutogradStep = Callable[[VAE, torch.Tensor, torch.Tensor, float], tuple]


def _autograd_step(m: VAE, x: torch.Tensor, eps: torch.Tensor, beta: float) -> tuple:
    """The beta-ELBO step by autograd, the reference for the hand-derived steps:
    (mean reconstruction NLL, mean KL, {parameter name: gradient}). tanh layers use
    torch.tanh here, not the model's faster sigmoid form: the reference is the exact one."""
    for p in m.parameters():
        p.grad = None
    exact = torch.tanh if m._act is activations.tanh else m._act
    with mock.patch.object(m, "_act", exact):
        mu, logvar = m.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = -m.log_likelihood(x, m.decode_logits(z)).mean()
    kl = kl_divergence(mu, logvar).mean()
    (recon + beta * kl).backward()
    return recon.detach(), kl.detach(), {n: p.grad.clone() for n, p in m.named_parameters()}


@pytest.fixture
def autograd_step() -> AutogradStep:
    return _autograd_step


@pytest.fixture
def two_threads():
    """torch at two threads for the test (results must not depend on the count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)

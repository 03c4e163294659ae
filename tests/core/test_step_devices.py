"""The hand-derived steps off the CPU: on the meta device (shapes only, no GPU needed) they
run their non-CPU branches end to end, so a CPU-only tensor or thread switch that slipped
into the GPU path fails here, not on a user's GPU."""

from __future__ import annotations

import pytest
import torch

from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training.layered_step import LayeredMLPStep
from vae_explorer.core.training.mlp_step import MLPStep


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("hidden", [256, (128, 64)])
def test_the_steps_run_on_another_device(likelihood, bf16, hidden):
    model = VAE(
        VAEConfig(hidden_dim=hidden, likelihood=likelihood, activation="relu" if hidden != 256 else "tanh")
    )
    model = model.to("meta")
    step = (MLPStep if hidden == 256 else LayeredMLPStep)(model, 1.0, bf16_products=bf16)
    threads = torch.get_num_threads()
    recon, kl = step(torch.empty(100, 784, device="meta"), torch.empty(100, 2, device="meta"))
    assert recon.device.type == kl.device.type == "meta" and recon.shape == kl.shape == ()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())
    assert torch.get_num_threads() == threads

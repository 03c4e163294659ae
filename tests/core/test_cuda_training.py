"""Training on a CUDA GPU: the hand-derived step agrees with the CPU's, the loop trains there
with the data resident on the device, and it talks to the host only a few times per epoch.
Skipped where torch sees no CUDA device (run on a GPU machine:
``PYTHONPATH=. python3 -m pytest -q tests/core/test_cuda_training.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import EpochSummary, Snapshot, TrainConfig, TrainingFinished, train
from vae_explorer.core.training.mlp_step import MLPStep

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_step_on_the_gpu_matches_the_cpu_step(likelihood):
    torch.manual_seed(0)
    cpu = VAE(VAEConfig(latent_dim=2, hidden_dim=256, likelihood=likelihood))
    gpu = VAE(cpu.config).cuda()
    gpu.load_state_dict(cpu.state_dict())
    x = (torch.rand(100, 784) > 0.5).float()
    eps = torch.randn(100, 2)
    recon_c, kl_c = MLPStep(cpu, 1.0)(x, eps)
    recon_g, kl_g = MLPStep(gpu, 1.0)(x.cuda(), eps.cuda())
    assert recon_g.is_cuda and kl_g.is_cuda
    # TF32 may be on for the GPU's products: compare loosely, but every gradient is checked.
    assert abs(float(recon_g) - float(recon_c)) <= 1e-3 * abs(float(recon_c))
    assert abs(float(kl_g) - float(kl_c)) <= 1e-3 * abs(float(kl_c)) + 1e-4
    for (name, p), q in zip(cpu.named_parameters(), gpu.parameters(), strict=True):
        scale = float(p.grad.abs().max()) + 1e-8
        assert float((q.grad.cpu() - p.grad).abs().max()) <= 1e-2 * scale, name


def test_training_on_the_gpu_learns_and_hands_back_cpu_snapshots():
    rng = np.random.default_rng(0)
    images = (rng.random((3000, 784)) < 0.3).astype(np.float32)
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=64))
    events = list(train(model, images, TrainConfig(epochs=3, device="cuda"), images[:500]))
    summaries = [e for e in events if isinstance(e, EpochSummary)]
    assert len(summaries) == 3
    assert summaries[-1].train_loss < summaries[0].train_loss
    assert all(np.isfinite(s.test_elbo) for s in summaries)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert snaps and all(v.device.type == "cpu" for v in snaps[-1].state_dict.values())
    assert isinstance(events[-1], TrainingFinished) and not events[-1].stopped
    assert next(model.parameters()).is_cuda


def test_an_epoch_copies_nothing_per_batch_between_host_and_gpu():
    from torch.profiler import ProfilerActivity, profile

    rng = np.random.default_rng(0)
    images = torch.as_tensor((rng.random((10_000, 784)) < 0.3).astype(np.float32))
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=64))
    batches = 100  # 10,000 images in batches of 100
    config = TrainConfig(epochs=2, device="cuda", log_every=batches)
    run = train(model, images, config)
    next(run)  # TrainingStarted: the data is on the GPU now
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in run:
            pass
    names = [e.name for e in prof.events()]
    to_gpu = sum("HtoD" in n for n in names)
    to_host = sum("DtoH" in n for n in names)
    assert to_host > 0, "the profiler saw no copies at all: it did not record the GPU"
    # Per epoch: the shuffle order in, one logging window, the epoch's terms and the
    # snapshot's weights out; never one per batch.
    assert to_gpu < batches // 4, to_gpu
    assert to_host < batches // 2, to_host

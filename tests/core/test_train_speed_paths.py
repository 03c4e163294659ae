"""The training loop's fast paths change the speed, never the result: the direct fused Adam
against torch's optimizer over a whole run."""

from __future__ import annotations

import torch

import vae_explorer.core.training.loop as loop_module
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import EpochSummary, TrainConfig, train
from vae_explorer.core.training.mlp_step import FusedAdam


def _weights_after(images, monkeypatch, **patches) -> tuple[dict[str, torch.Tensor], list[float]]:
    with monkeypatch.context() as m:
        for name, value in patches.items():
            m.setattr(loop_module, name, value)
        torch.manual_seed(0)
        model = VAE(VAEConfig(latent_dim=2, hidden_dim=32))
        config = TrainConfig(epochs=2, batch_size=50, log_every=7)
        losses = [e.train_loss for e in train(model, images, config) if isinstance(e, EpochSummary)]
    return {k: v.clone() for k, v in model.state_dict().items()}, losses


def test_the_direct_fused_adam_trains_the_same_weights_as_torch_adam(small_images, monkeypatch):
    images = small_images[:600]
    used: list[str] = []

    class Recording(FusedAdam):
        def __init__(self, *a, **k) -> None:
            used.append("direct")
            super().__init__(*a, **k)

    direct, direct_losses = _weights_after(images, monkeypatch, FusedAdam=Recording)
    assert used == ["direct"]

    class Unsupported(FusedAdam):
        @staticmethod
        def supported(device: torch.device) -> bool:
            return False

    reference, reference_losses = _weights_after(images, monkeypatch, FusedAdam=Unsupported)
    assert direct_losses == reference_losses
    for k, v in reference.items():
        assert torch.equal(direct[k], v), k

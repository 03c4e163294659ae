"""KL warm-up: the KL weight climbs from ~0 to beta over the first epochs of a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.model import VAE, ConfigError, VAEConfig
from vae_explorer.core.training import BatchMetrics, TrainConfig, train
from vae_explorer.core.training.mlp_step import MLPStep


def test_beta_climbs_linearly_then_holds():
    config = TrainConfig(beta=2.0, kl_warmup_epochs=2)
    assert config.beta_at(0, 10) == pytest.approx(0.1)
    assert config.beta_at(9, 10) == pytest.approx(1.0)
    assert config.beta_at(19, 10) == pytest.approx(2.0)
    assert config.beta_at(500, 10) == 2.0
    assert TrainConfig(beta=0.5).beta_at(0, 10) == 0.5  # off: beta from the first step


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "2"])
def test_a_nonsense_warmup_is_refused(bad):
    with pytest.raises(ConfigError, match="KL warm-up"):
        TrainConfig(kl_warmup_epochs=bad)


@pytest.mark.parametrize("hidden", [32, (32, 16)])
def test_the_step_trains_with_the_warming_weight_and_reports_it(small_images, monkeypatch, hidden):
    """Both hand-derived steps get each step's weight; the reported loss is recon + that
    weight x KL (so the curves show the objective being optimised)."""
    seen: list[float] = []
    real_call = type(_step_for(hidden)).__call__

    def spy(self, *args, **kwargs):
        seen.append(self.beta)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(_step_for(hidden)), "__call__", spy)
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=4, hidden_dim=hidden))
    config = TrainConfig(epochs=2, batch_size=100, kl_warmup_epochs=1.0, log_every=5, device="cpu")
    events = list(train(model, small_images[:1000], config))
    assert seen[:3] == pytest.approx([0.1, 0.2, 0.3]) and seen[9:] == [1.0] * (len(seen) - 9)
    first = next(e for e in events if isinstance(e, BatchMetrics))
    assert first.loss == pytest.approx(first.recon + 0.1 * first.kl, rel=1e-5)


def _step_for(hidden):
    from vae_explorer.core.training.layered_step import LayeredMLPStep

    model = VAE(VAEConfig(latent_dim=4, hidden_dim=hidden))
    return MLPStep(model, 1.0) if isinstance(hidden, int) else LayeredMLPStep(model, 1.0)


def test_warmup_changes_the_run(small_images):
    def final_weights(warmup: float) -> np.ndarray:
        torch.manual_seed(0)
        model = VAE(VAEConfig(latent_dim=4, hidden_dim=32))
        config = TrainConfig(epochs=1, batch_size=100, kl_warmup_epochs=warmup, device="cpu")
        list(train(model, small_images[:1000], config))
        return model.enc_mu.weight.detach().numpy().copy()

    assert not np.allclose(final_weights(0.0), final_weights(1.0))

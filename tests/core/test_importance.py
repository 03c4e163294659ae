"""Importance weights, one definition: the log-likelihood estimate and imputation agree."""

from __future__ import annotations

import math

import pytest
import torch

from vae_explorer.core.evaluation import _iwae_log_likelihood
from vae_explorer.core.importance import log_px_of_samples, log_weight, log_weights, sample_q, weighted_draws
from vae_explorer.core.model import VAE, VAEConfig, as_image_tensor, log_normal, log_standard_normal


@pytest.fixture(params=["bernoulli", "gaussian"])
def model(request):
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=2, hidden_dim=32, likelihood=request.param)).eval()


def test_the_weight_is_log_px_plus_log_prior_minus_log_q(model, small_images):
    x = as_image_tensor(small_images[:6])
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = torch.randn((6, 4, 2))
        logits = model.decode_logits(z.reshape(-1, 2)).view(6, 4, -1)
        log_px = model.log_likelihood(x[:, None], logits)
        by_hand = log_px + log_standard_normal(z) - log_normal(z, mu[:, None], logvar[:, None])
        assert torch.allclose(log_weight(log_px, z, mu[:, None], logvar[:, None]), by_hand)
        # The evaluation's fast log p(x|z) is the model's own likelihood.
        assert torch.allclose(log_px_of_samples(model, x, z), log_px, rtol=1e-5, atol=1e-2)


def test_evaluation_and_imputation_draw_and_weigh_alike(model, small_images):
    """Same seed, same draws: the IWAE path and the imputation path give the same weights
    when every pixel is observed (and the masked one counts observed pixels only)."""
    x = as_image_tensor(small_images[:8])
    with torch.no_grad():
        mu, logvar = model.encode(x)
        w_eval = log_weights(model, x, mu, logvar, 16, torch.Generator().manual_seed(1))
        all_seen = torch.ones_like(x, dtype=torch.bool)
        logits, z, w_imp = weighted_draws(
            model, x, mu, logvar, 16, torch.Generator().manual_seed(1), all_seen
        )
        assert torch.equal(z, sample_q(mu, logvar, 16, torch.Generator().manual_seed(1)))
        assert torch.allclose(w_eval, w_imp, rtol=1e-5, atol=1e-2)
        _, _, w_none = weighted_draws(model, x, mu, logvar, 16, torch.Generator().manual_seed(1))
        assert torch.allclose(w_none, w_imp)
        # Hiding pixels removes exactly their terms from log p(x|z).
        top = torch.zeros_like(all_seen)
        top[:, :392] = True
        _, _, w_top = weighted_draws(model, x, mu, logvar, 16, torch.Generator().manual_seed(1), top)
        log_px_top = model.log_likelihood(x[:, None], logits, mask=top[:, None])
        assert torch.allclose(w_top, log_weight(log_px_top, z, mu[:, None], logvar[:, None]))
        # And the IWAE estimate is the log-mean-exp of those weights.
        iwae = _iwae_log_likelihood(model, x, mu, logvar, 16, torch.Generator().manual_seed(1))
        expected = torch.logsumexp(w_imp.double(), 1) - math.log(16)
        assert torch.allclose(iwae, expected, rtol=1e-5, atol=1e-2)

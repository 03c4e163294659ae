import math

import pytest
import torch

from vae_explorer.core.evaluation import evaluate
from vae_explorer.core.model import VAE, VAEConfig


def test_elbo_is_minus_recon_minus_kl(tiny_model, small_images):
    m = evaluate(tiny_model, small_images[:300])
    assert m["elbo"] == pytest.approx(-(m["recon"] + m["kl"]))
    assert m["elbo"] < 0 and m["kl"] >= 0


def test_iwae_bounds_are_ordered_and_tighten(tiny_model, small_images):
    x = small_images[:100]
    elbo = evaluate(tiny_model, x)["elbo"]
    ll1 = evaluate(tiny_model, x, iwae_samples=1)["log_likelihood"]
    ll50 = evaluate(tiny_model, x, iwae_samples=50)["log_likelihood"]
    assert abs(ll1 - elbo) < 3  # K=1 is a one-sample ELBO estimate
    assert ll50 > elbo  # the importance-weighted bound is tighter


def test_iwae_exact_when_posterior_equals_prior_and_decoder_ignores_z():
    """With a decoder that ignores z and q = p, every weight equals p(x): the estimate is exact."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    with torch.no_grad():
        for layer in (model.enc_mu, model.enc_logvar):
            layer.weight.zero_()
            layer.bias.zero_()
        model.dec_hidden.weight.zero_()
    x = torch.rand(7, 784)
    logits = model.decode_logits(torch.zeros(1, 2))
    exact = model.log_likelihood(x, logits).mean().item()
    result = evaluate(model, x, iwae_samples=30)
    assert result["log_likelihood"] == pytest.approx(exact, rel=1e-5)
    assert result["kl"] == pytest.approx(0.0, abs=1e-6)


def test_iwae_chunking_handles_many_samples(tiny_model):
    x = torch.rand(3, 784)
    a = evaluate(tiny_model, x, iwae_samples=25_000)["log_likelihood"]
    assert math.isfinite(a)


def test_evaluation_is_reproducible_and_validates(tiny_model, small_images):
    assert evaluate(tiny_model, small_images[:50], iwae_samples=5) == evaluate(
        tiny_model, small_images[:50], iwae_samples=5
    )
    with pytest.raises(ValueError):
        evaluate(tiny_model, small_images[:0])
    with pytest.raises(ValueError):
        evaluate(tiny_model, small_images[:5], iwae_samples=-1)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_regrouped_mlp_likelihood_matches_the_direct_one(likelihood):
    from vae_explorer.core.importance import log_px_of_samples

    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=16, likelihood=likelihood))
    x = torch.rand(4, 784)
    z = torch.randn(4, 6, 3)
    direct = model.log_likelihood(x[:, None, :], model.decode_logits(z.reshape(-1, 3)).view(4, 6, -1))
    assert torch.allclose(log_px_of_samples(model, x, z), direct, rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("bad", [2.5, -1, True, "10"])
def test_a_sample_count_that_is_not_a_whole_number_is_named(tiny_model, small_images, bad):
    """2.5 raised torch's bare "'float' object cannot be interpreted as an integer"."""
    with pytest.raises(ValueError, match="iwae_samples must be a whole number >= 0"):
        evaluate(tiny_model, small_images[:10], iwae_samples=bad)

"""Per-image gaps over a data set, cheap per-image metrics and importance sampling for one
image; the q* fit's hand-derived gradient and the mode finder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.evaluation import evaluate
from vae_explorer.core.posterior import (
    GAP_KEYS,
    PosteriorError,
    dataset_gaps,
    exact_posterior,
    image_gaps,
    image_metrics,
    importance_draws,
    iwae_curve,
)
from vae_explorer.core.posterior.exact import find_modes
from vae_explorer.core.posterior.gaussian import fit_gaussian, fit_points, kl_and_gradient

TRAINED = Path(__file__).resolve().parents[2] / "trained"


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(TRAINED / "mnist-bernoulli-z2.safetensors").model.eval()


def test_image_gaps_match_the_single_image_posterior_and_report_progress(shipped, small_images):
    images = small_images[:12]
    calls = []
    gaps = image_gaps(shipped, images, progress=lambda done, total: calls.append((done, total)))
    assert set(gaps) == set(GAP_KEYS) and all(v.shape == (12,) for v in gaps.values())
    assert calls[0] == (0, 12) and calls[-1] == (12, 12)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    for i in (0, 7):
        post = exact_posterior(shipped, images[i])
        assert gaps["log_px"][i] == pytest.approx(post.log_px, abs=1e-3)
        assert gaps["elbo"][i] == pytest.approx(post.elbo, abs=1e-3)
        assert gaps["approximation_gap"][i] == pytest.approx(post.approximation_gap, abs=0.02)
    for key in ("total_gap", "approximation_gap", "amortisation_gap"):
        assert (gaps[key] >= -1e-3).all()
    np.testing.assert_allclose(
        gaps["total_gap"], gaps["approximation_gap"] + gaps["amortisation_gap"], atol=1e-9
    )
    means = dataset_gaps(shipped, images)
    assert means == pytest.approx({k: float(v.mean()) for k, v in gaps.items()}, abs=1e-9)


def test_image_gaps_refuses_bad_input(shipped, tiny_model):
    with pytest.raises(PosteriorError, match="no images"):
        image_gaps(shipped, np.zeros((0, 784), np.uint8))
    with pytest.raises(PosteriorError, match="shape"):
        image_gaps(shipped, np.zeros((5, 28), np.uint8))
    with pytest.raises(PosteriorError, match="grid"):
        image_gaps(shipped, np.zeros((2, 784), np.uint8), grid=4)
    from vae_explorer.core.model import VAE, VAEConfig

    with pytest.raises(PosteriorError, match="2-d latent"):
        dataset_gaps(VAE(VAEConfig(latent_dim=5, hidden_dim=8)), np.zeros((2, 784), np.uint8))


def test_image_metrics_are_the_per_image_terms_of_evaluate(tiny_model, small_images):
    from vae_explorer.core.model import VAE, VAEConfig

    for model in (tiny_model, VAE(VAEConfig(latent_dim=4, hidden_dim=16))):
        metrics = image_metrics(model, small_images[:300])
        reference = evaluate(model, small_images[:300])
        for key in ("elbo", "recon", "kl"):
            assert metrics[key].shape == (300,)
            assert metrics[key].mean() == pytest.approx(reference[key], rel=1e-5)
        np.testing.assert_allclose(metrics["elbo"], -(metrics["recon"] + metrics["kl"]))


def test_iwae_curve_rises_towards_the_exact_log_px(shipped, small_images):
    post = exact_posterior(shipped, small_images[0])
    ks, bounds = iwae_curve(shipped, small_images[0])
    assert list(ks) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert bounds[0] == pytest.approx(post.elbo, abs=0.1)  # K = 1 is the ELBO (averaged draws)
    assert (np.diff(bounds) > -0.02).all()
    assert bounds[-1] < post.log_px + 0.01 and bounds[-1] > bounds[0] + 0.3
    assert post.log_px - bounds[-1] < 0.2
    with pytest.raises(PosteriorError, match="ks"):
        iwae_curve(shipped, small_images[0], ks=[0, 5])


def test_importance_draws_are_weighted_samples_of_q(shipped, small_images):
    z, w = importance_draws(shipped, small_images[0], 500, seed=1)
    assert z.shape == (500, 2) and w.shape == (500,)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    z2, w2 = importance_draws(shipped, small_images[0], 500, seed=1)
    np.testing.assert_array_equal(z, z2)
    z3, _ = importance_draws(shipped, small_images[0], 500, seed=2)
    assert not np.allclose(z, z3)
    post = exact_posterior(shipped, small_images[0], grid=51)
    # Re-weighting q's draws moves their mean to the posterior's.
    assert np.linalg.norm(w @ z - post.mean) < np.linalg.norm(z.mean(0) - post.mean) + 0.01
    with pytest.raises(PosteriorError, match="k must"):
        importance_draws(shipped, small_images[0], 0)


def test_fit_gradient_matches_autograd():
    rng = np.random.default_rng(0)
    u = fit_points(9, 4.0)
    theta = rng.normal(scale=0.3, size=(3, 5))
    log_p = rng.normal(size=(3, len(u)))
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    kl, grad = kl_and_gradient(theta, u, log_p)
    t = torch.tensor(theta, requires_grad=True)
    m0, m1, la, b, lc = (t[:, i : i + 1] for i in range(5))
    ut = torch.as_tensor(u)
    v0 = (ut[:, 0] - m0) / la.exp()
    v1 = (ut[:, 1] - m1 - b * v0) / lc.exp()
    log_q = torch.log_softmax(-0.5 * (v0**2 + v1**2), -1)
    kl_t = (log_q.exp() * (log_q - torch.as_tensor(log_p))).sum()
    kl_t.backward()
    np.testing.assert_allclose(kl.sum(), float(kl_t.detach()), rtol=1e-10)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-6, atol=1e-10)


def test_fit_finds_a_correlated_gaussian_target():
    u = fit_points(21, 5.0)
    cov = np.array([[1.0, 0.6], [0.6, 0.8]])
    mean = np.array([0.3, -0.4])
    d = u - mean
    log_p = -0.5 * np.einsum("pi,ij,pj->p", d, np.linalg.inv(cov), d)[None]
    log_p -= np.log(np.exp(log_p).sum())
    m, chol, kl = fit_gaussian(u, log_p, np.array([[1.5, 1.0]]), np.eye(2)[None] * 0.5, steps=300)
    np.testing.assert_allclose(m[0], mean, atol=0.01)
    np.testing.assert_allclose(chol[0] @ chol[0].T, cov, atol=0.02)
    assert kl[0] < 1e-4


def test_modes_of_a_two_bump_density():
    a0, a1 = np.linspace(-3, 3, 61), np.linspace(-2, 2, 41)
    z0, z1 = np.meshgrid(a0, a1, indexing="xy")
    density = np.logaddexp(
        -((z0 - 1.5) ** 2 + z1**2) / 0.2, np.log(0.5) - ((z0 + 1.5) ** 2 + (z1 - 1) ** 2) / 0.2
    )
    modes = find_modes(density, (a0, a1))
    np.testing.assert_allclose(modes, [[1.5, 0.0], [-1.5, 1.0]], atol=1e-9)

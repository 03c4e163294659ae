"""Per-image gaps over a data set, cheap per-image metrics and importance sampling for one
image; the q* fit (exact on a Gaussian posterior, optimal on a skewed one) and the mode finder."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

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
from vae_explorer.core.posterior.chebyshev import chebyshev_nodes
from vae_explorer.core.posterior.exact import find_modes
from vae_explorer.core.posterior.gaussian import best_gaussian
from vae_explorer.core.posterior.tiles import LogJoint, Tiles

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
    # The bound climbs from the ELBO most of the way to the exact log p(x), never past it.
    assert bounds[-1] < post.log_px + 0.01
    assert bounds[-1] - bounds[0] > 0.6 * (post.log_px - bounds[0])
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


def _joint_of(f, box: np.ndarray, n: int = 33) -> LogJoint:
    """The Chebyshev interpolant of a log joint f(z0, z1) over box [2, 2] (dim, lo/hi)."""
    t = chebyshev_nodes(n)
    a0 = box[0, 0] + (box[0, 1] - box[0, 0]) * t
    a1 = box[1, 0] + (box[1, 1] - box[1, 0]) * t
    z0, z1 = np.meshgrid(a0, a1, indexing="xy")  # rows = dim 1
    unit = np.array([[0.0, 1.0]])
    tiles = Tiles(np.array([0]), f(z0, z1)[None, None, None], np.zeros((1, 1, 1, 2)), unit, unit)
    return LogJoint(box=box[None], groups=[tiles], tails=np.zeros(1), nodes=np.array([n]))


def _gh_elbo(f, mean: np.ndarray, chol: np.ndarray) -> float:
    """ELBO of N(mean, chol chol^T) against the log joint f by a 20-point Gauss-Hermite rule."""
    x, w = np.polynomial.hermite_e.hermegauss(20)
    w = w / w.sum()
    u = np.stack(np.meshgrid(x, x, indexing="xy"), -1).reshape(-1, 2)
    z = mean + u @ chol.T
    entropy = 1.0 + math.log(2 * math.pi) + math.log(abs(chol[0, 0] * chol[1, 1]))
    return float(f(z[:, 0], z[:, 1]) @ np.outer(w, w).reshape(-1)) + entropy


def test_fit_lands_on_a_gaussian_posterior_from_a_poor_start():
    cov = np.array([[0.04, 0.03], [0.03, 0.09]])
    mean = np.array([0.3, -0.4])
    prec = np.linalg.inv(cov)

    def f(z0, z1):  # a quadratic: the interpolant is exact
        d0, d1 = z0 - mean[0], z1 - mean[1]
        return -0.5 * (prec[0, 0] * d0 * d0 + 2 * prec[0, 1] * d0 * d1 + prec[1, 1] * d1 * d1)

    joint = _joint_of(f, np.array([[-1.5, 2.1], [-2.2, 1.4]]), n=9)
    # The encoder's guess is off-centre and too narrow; the moment start is too wide.
    m, chol = best_gaussian(joint, mean[None] + 0.2, 4 * cov[None], np.array([[0.6, -0.1]]),
                            np.array([[0.05, 0.02]]))  # fmt: skip
    np.testing.assert_allclose(m[0], mean, atol=1e-6)
    np.testing.assert_allclose(chol[0] @ chol[0].T, cov, rtol=1e-5, atol=1e-8)


def test_fit_finds_the_best_gaussian_of_a_skewed_posterior():
    def f(z0, z1):  # a banana: no Gaussian fits it, the optimum is found numerically below
        return -0.5 * (np.square(z0 / 0.5) + np.square((z1 - 0.8 * np.square(z0)) / 0.2))

    joint = _joint_of(f, np.array([[-3.0, 3.0], [-3.0, 7.0]]), n=17)  # degree 4: exact
    start_mean, start_cov = np.array([[0.0, 0.2]]), np.array([[[0.25, 0.0], [0.0, 0.2]]])
    m, chol = best_gaussian(joint, start_mean, start_cov, np.array([[1.0, 1.0]]), np.array([[0.1, 0.1]]))
    got = _gh_elbo(f, m[0], chol[0])

    def loss(theta):  # type: ignore[no-untyped-def]
        lower = np.array([[math.exp(theta[2]), 0.0], [theta[3], math.exp(theta[4])]])
        return -_gh_elbo(f, theta[:2], lower)

    best = min(
        (scipy.optimize.minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10,
                                                                          "maxiter": 20_000})
         for x0 in ([0.0, 0.2, -0.7, 0.0, -0.8], [0.5, 0.5, 0.0, 0.3, 0.0])),
        key=lambda r: r.fun,
    )  # fmt: skip
    assert got == pytest.approx(-best.fun, abs=1e-4)
    assert got > _gh_elbo(f, start_mean[0], np.linalg.cholesky(start_cov[0])) + 0.01


def test_modes_of_a_two_bump_density():
    a0, a1 = np.linspace(-3, 3, 61), np.linspace(-2, 2, 41)
    z0, z1 = np.meshgrid(a0, a1, indexing="xy")
    density = np.logaddexp(
        -((z0 - 1.5) ** 2 + z1**2) / 0.2, np.log(0.5) - ((z0 + 1.5) ** 2 + (z1 - 1) ** 2) / 0.2
    )
    modes = find_modes(density, (a0, a1))
    np.testing.assert_allclose(modes, [[1.5, 0.0], [-1.5, 1.0]], atol=1e-9)

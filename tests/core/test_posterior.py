"""The exact 2-d posterior: closed forms on a linear-Gaussian model, the shipped model against
independent estimates (direct decodes, IWAE, Monte-Carlo ELBOs), and clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.evaluation import evaluate
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.posterior import PosteriorError, exact_posterior
from vae_explorer.core.posterior.grid import log_joint

TRAINED = Path(__file__).resolve().parents[2] / "trained"
SIGMA2 = 0.5


class LinearGaussianVAE(VAE):
    """p(x|z) = N(x; A z + c, 0.5 I), p(z) = N(0, I): the true posterior is Gaussian in closed
    form. The VAE's own decoder is sigmoid(tanh(...)), never linear, so this subclass overrides
    decode_logits (returning the mean itself) and log_likelihood; the encoder stays the VAE's
    (randomly initialised) MLP, so the amortisation gap is large and the approximation gap 0."""

    def __init__(self, a: torch.Tensor, c: torch.Tensor) -> None:
        super().__init__(VAEConfig(latent_dim=2, hidden_dim=16, likelihood="gaussian"))
        self.a, self.c = a, c

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.a.T + self.c

    def log_likelihood(self, x, logits, mask=None):  # type: ignore[no-untyped-def]
        sq = (x - logits).square().sum(-1)
        return -sq / (2 * SIGMA2) - 0.5 * x.shape[-1] * math.log(2 * math.pi * SIGMA2)


def _closed_form(a: np.ndarray, c: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """log p(x), posterior mean and covariance of the linear-Gaussian model (Woodbury)."""
    precision = np.eye(2) + a.T @ a / SIGMA2
    cov = np.linalg.inv(precision)
    r = x - c
    proj = a.T @ r / SIGMA2
    mean = cov @ proj
    quad = r @ r / SIGMA2 - proj @ cov @ proj
    logdet = x.size * math.log(SIGMA2) + np.linalg.slogdet(precision)[1]
    return -0.5 * (x.size * math.log(2 * math.pi) + logdet + quad), mean, cov


def _gaussian_kl(m0, c0, m1, c1) -> float:  # type: ignore[no-untyped-def]
    inv1 = np.linalg.inv(c1)
    d = m1 - m0
    return 0.5 * (
        np.trace(inv1 @ c0) + d @ inv1 @ d - 2 + np.linalg.slogdet(c1)[1] - np.linalg.slogdet(c0)[1]
    )


@pytest.fixture(scope="module")
def linear_model():
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(784, 2, generator=gen) * 0.06
    a[:, 1] += 0.5 * a[:, 0]  # a correlated posterior
    torch.manual_seed(0)
    return LinearGaussianVAE(a, torch.full((784,), 0.3)).eval()


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(TRAINED / "mnist-bernoulli-z2.safetensors").model.eval()


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test.images[[0, 3, 8]]  # 8: a posterior far from the encoder's q


def test_linear_gaussian_posterior_matches_the_closed_form(linear_model, small_images):
    x = small_images[5].reshape(-1).astype(np.float64) / 255.0
    log_px, mean, cov = _closed_form(linear_model.a.double().numpy(), linear_model.c.double().numpy(), x)
    post = exact_posterior(linear_model, small_images[5])
    assert post.log_px == pytest.approx(log_px, abs=2e-3)
    np.testing.assert_allclose(post.mean, mean, atol=2e-3 * np.sqrt(cov.diagonal()).max())
    np.testing.assert_allclose(post.cov, cov, rtol=5e-3, atol=1e-4 * cov.max())
    # The best Gaussian is the posterior itself: no approximation gap, q* = the posterior.
    assert abs(post.approximation_gap) < 2e-3
    np.testing.assert_allclose(post.qstar_mu, mean, atol=0.02 * np.sqrt(cov.diagonal()).max())
    np.testing.assert_allclose(post.qstar_cov, cov, rtol=0.05, atol=0.02 * cov.max())
    # The whole gap is the encoder's KL to the posterior, in closed form.
    kl = _gaussian_kl(post.q_mu, post.q_cov, mean, cov)
    assert kl > 1.0  # the untrained encoder is far off: the test has something to measure
    assert post.total_gap == pytest.approx(kl, rel=1e-3, abs=2e-3)
    assert post.amortisation_gap == pytest.approx(kl, rel=1e-3, abs=4e-3)


def test_quadrature_log_px_agrees_with_many_sample_iwae(shipped, digits):
    # The encoder's proposal (core.evaluation, K = 20,000) where q covers the posterior well.
    # (Where q is narrower than the posterior or off-centre, as for digits 3 and 8, its weights
    # are heavy-tailed: one draw can lift the estimate by 0.5 nats, so it tests nothing there.)
    post = exact_posterior(shipped, digits[0])
    iwae = evaluate(shipped, digits[0][None], iwae_samples=20_000)["log_likelihood"]
    assert post.log_px - 0.15 < iwae <= post.log_px + 0.01  # a lower bound, biased low by ~0.06
    for image in digits:
        post = exact_posterior(shipped, image)
        # A wide proposal (the grid's moments, twice the covariance) makes the importance
        # estimate nearly unbiased: it must agree closely.
        gen = torch.Generator().manual_seed(1)
        proposal = torch.distributions.MultivariateNormal(
            torch.as_tensor(post.mean), torch.as_tensor(2.0 * post.cov)
        )
        z = (
            proposal.mean
            + torch.randn(100_000, 2, generator=gen, dtype=torch.float64) @ proposal.scale_tril.T
        )
        x = torch.as_tensor(image, dtype=torch.float32).reshape(1, 784) / 255
        log_w = log_joint(shipped, x, z[None])[0] - proposal.log_prob(z)
        estimate = float(torch.logsumexp(log_w, 0)) - math.log(len(z))
        assert estimate == pytest.approx(post.log_px, abs=0.015)


def test_interpolated_density_matches_direct_decodes_and_is_normalised(shipped, digits):
    post = exact_posterior(shipped, digits[1])
    g0, g1 = post.z_axes
    assert post.log_density.shape == (len(g1), len(g0)) == (201, 201)
    lse = np.logaddexp.reduce(post.log_density.ravel())
    assert lse + math.log(post.cell_area) == pytest.approx(0.0, abs=1e-9)
    # Decode every one of the 40,401 grid points directly: rows are the second latent dim.
    z = np.stack(np.meshgrid(g0, g1, indexing="xy"), -1).reshape(1, -1, 2)
    x = torch.as_tensor(digits[1], dtype=torch.float32).reshape(1, 784) / 255
    f = log_joint(shipped, x, torch.from_numpy(z)).numpy().reshape(len(g1), len(g0))
    log_px = np.logaddexp.reduce(f.ravel()) + math.log(post.cell_area)
    assert post.log_px == pytest.approx(log_px, abs=1e-3)
    density = f - log_px
    mass = density > density.max() - 15
    assert np.abs(density - post.log_density)[mass].max() < 0.01
    # Moments from the directly decoded density.
    p = np.exp(density) * post.cell_area
    zz = z[0].reshape(len(g1), len(g0), 2)
    mean = (p[..., None] * zz).sum((0, 1))
    d = zz - mean
    cov = np.einsum("ij,ijk,ijl->kl", p, d, d)
    np.testing.assert_allclose(post.mean, mean, atol=1e-3 * np.sqrt(cov.diagonal()).max())
    np.testing.assert_allclose(post.cov, cov, rtol=1e-3)
    assert post.border_mass < 1e-6
    assert post.modes.shape[1] == 2 and len(post.modes) >= 1
    top = np.unravel_index(np.argmax(density), density.shape)
    np.testing.assert_allclose(post.modes[0], [g0[top[1]], g1[top[0]]])


def _mc_elbo(model, image, mean, cov, n=100_000, seed=0) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Monte-Carlo ELBO of N(mean, cov) and its standard error (independent of Gauss-Hermite)."""
    gen = torch.Generator().manual_seed(seed)
    chol = torch.linalg.cholesky(torch.as_tensor(cov))
    z = torch.as_tensor(mean) + torch.randn(n, 2, generator=gen, dtype=torch.float64) @ chol.T
    x = torch.as_tensor(image, dtype=torch.float32).reshape(1, 784) / 255
    lj = log_joint(model, x, z[None])[0]
    log_q = torch.distributions.MultivariateNormal(torch.as_tensor(mean), torch.as_tensor(cov)).log_prob(z)
    w = (lj - log_q).numpy()
    return float(w.mean()), float(w.std() / math.sqrt(n))


def test_gaps_are_nonnegative_and_add_up_and_elbos_match_monte_carlo(shipped, digits):
    for image in digits:
        post = exact_posterior(shipped, image)
        for gap in (post.total_gap, post.approximation_gap, post.amortisation_gap, post.kl_q_posterior):
            assert gap >= -1e-3
        assert post.total_gap == pytest.approx(post.approximation_gap + post.amortisation_gap, abs=1e-9)
        assert post.kl_q_posterior == pytest.approx(post.log_px - post.elbo)
        assert post.elbo_qstar >= post.elbo
        if image is digits[1]:
            continue  # Monte-Carlo checks of the Gauss-Hermite ELBOs on two of the three (time)
        for mean, cov, value in (
            (post.q_mu, post.q_cov, post.elbo),
            (post.qstar_mu, post.qstar_cov, post.elbo_qstar),
        ):
            mc, se = _mc_elbo(shipped, image, mean, cov)
            assert value == pytest.approx(mc, abs=max(0.01, 5 * se))
    # Image 8's encoder is badly off: most of its gap is amortisation, and q* moved to the posterior.
    assert post.amortisation_gap > 1.0 > post.approximation_gap
    assert np.linalg.norm(post.qstar_mu - post.mean) < np.linalg.norm(post.q_mu - post.mean)


def test_the_box_search_does_not_depend_on_the_encoder(shipped, digits):
    reference = exact_posterior(shipped, digits[0])
    for mu_shift, logvar_shift in ((4.0, 0.0), (0.0, -12.0), (0.0, 6.0)):
        wrong = VAE(shipped.config)
        wrong.load_state_dict(shipped.state_dict())
        with torch.no_grad():
            wrong.enc_mu.bias += mu_shift
            wrong.enc_logvar.bias += logvar_shift
        post = exact_posterior(wrong.eval(), digits[0])
        assert post.log_px == pytest.approx(reference.log_px, abs=2e-3)
        np.testing.assert_allclose(post.mean, reference.mean, atol=1e-3)
        assert post.border_mass < 1e-6
        assert post.amortisation_gap > reference.amortisation_gap


def test_image_formats_give_the_same_posterior(shipped, digits):
    a = exact_posterior(shipped, digits[0], grid=51)
    b = exact_posterior(shipped, torch.as_tensor(digits[0].reshape(784).astype(np.float32) / 255), grid=51)
    assert a.log_px == pytest.approx(b.log_px, abs=1e-6)
    assert a.log_density.shape == (51, 51)


def test_bad_inputs_give_clear_errors(shipped, tiny_model):
    good = np.zeros((28, 28), np.uint8)
    cases = [
        (np.zeros((3, 784), np.uint8), "shape"),
        (np.zeros((27, 27), np.uint8), "shape"),
        (np.full((28, 28), np.nan, np.float32), "NaN"),
        (np.full(784, 2.0), "[0, 1]"),
        ("not an image", "numeric"),
    ]
    for image, message in cases:
        with pytest.raises(PosteriorError, match=message):
            exact_posterior(shipped, image)
    with pytest.raises(PosteriorError, match="grid"):
        exact_posterior(shipped, good, grid=1)
    model3 = VAE(VAEConfig(latent_dim=3, hidden_dim=16))
    with pytest.raises(ValueError, match="2-d latent.*3 dimensions"):
        exact_posterior(model3, good)
    broken = VAE(shipped.config)
    with torch.no_grad():
        broken.dec_out.bias.fill_(float("nan"))
    with pytest.raises(PosteriorError, match="non-finite"):
        exact_posterior(broken, good)

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vae_explorer.core.model import (
    VAE,
    ConfigError,
    VAEConfig,
    as_image_tensor,
    kl_divergence,
    log_normal,
)


def test_default_is_the_seed_model():
    m = VAE()
    assert m.config == VAEConfig(2, 256, "bernoulli", "mlp")
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["enc_hidden.weight"] == (256, 784)
    assert shapes["enc_mu.weight"] == (2, 256)
    assert shapes["dec_out.weight"] == (784, 256)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("latent_dim", [1, 2, 10])
def test_shapes_and_ranges(arch, latent_dim):
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=16, arch=arch))
    x = torch.rand(5, 784)
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (5, latent_dim)
    img = m.decode(mu).detach()
    assert img.shape == (5, 784) and float(img.min()) >= 0 and float(img.max()) <= 1
    assert m.sample(3).shape == (3, 784)


@pytest.mark.parametrize(
    "kwargs",
    [{"latent_dim": 0}, {"hidden_dim": -1}, {"likelihood": "poisson"}, {"arch": "rnn"},
     {"latent_dim": 2.5}, {"latent_dim": True}],
)  # fmt: skip
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ConfigError):
        VAEConfig(**kwargs)


def test_bernoulli_likelihood_matches_bce_and_is_stable():
    m = VAE(VAEConfig(likelihood="bernoulli"))
    x = torch.rand(4, 784)
    logits = torch.randn(4, 784) * 5
    expected = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    assert torch.allclose(m.log_likelihood(x, logits), expected, atol=1e-3)
    huge = torch.full((1, 784), 1e4)
    assert torch.isfinite(m.log_likelihood(torch.zeros(1, 784), huge)).all()


def test_gaussian_likelihood_is_squared_error_plus_constant():
    m = VAE(VAEConfig(likelihood="gaussian"))
    x = torch.rand(3, 784)
    logits = torch.randn(3, 784)
    sq = (x - torch.sigmoid(logits)).square().sum(-1)
    const = 0.5 * 784 * math.log(math.pi)  # N(x; mean, 1/2): -log p = SE + 392 log(pi)
    assert torch.allclose(-m.log_likelihood(x, logits), sq + const, atol=1e-3)


def test_masked_likelihood_sums_only_selected_pixels():
    for lik in ("bernoulli", "gaussian"):
        m = VAE(VAEConfig(likelihood=lik))
        x, logits = torch.rand(2, 784), torch.randn(2, 784)
        mask = torch.zeros(2, 784, dtype=torch.bool)
        mask[:, :400] = True
        a = m.log_likelihood(x, logits, mask)
        b = m.log_likelihood(x, logits, ~mask)
        assert torch.allclose(a + b, m.log_likelihood(x, logits), atol=1e-3)


def test_kl_and_log_normal_against_torch_distributions():
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-5)
    z = torch.randn(6, 3)
    assert torch.allclose(log_normal(z, mu, logvar), q.log_prob(z).sum(-1), atol=1e-4)


def test_as_image_tensor_accepts_uint8_and_rejects_wrong_shapes():
    imgs = np.full((2, 28, 28), 255, np.uint8)
    t = as_image_tensor(imgs)
    assert t.shape == (2, 784) and t.dtype == torch.float32 and float(t.max()) == 1.0
    with pytest.raises(ValueError, match="784"):
        as_image_tensor(np.zeros((2, 27, 27)))


def test_float_images_outside_unit_range_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_image_tensor(np.full((1, 784), 255.0, np.float32))


def test_grid_axis_edge_cases():
    from vae_explorer.core.latent import gaussian_grid_axis

    assert gaussian_grid_axis(1).tolist() == [0.0]
    axis = gaussian_grid_axis(5)
    assert axis[2] == pytest.approx(0.0, abs=1e-12) and axis[0] == pytest.approx(-1.6449, abs=1e-3)
    with pytest.raises(ValueError):
        gaussian_grid_axis(5, tail=0.0)

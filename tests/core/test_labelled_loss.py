"""The M2 objective: the labelled term is the VAE's ELBO with y given, the unlabelled term
is the expectation over y plus the entropy, and the batch loss weighs them as the paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vae_explorer.core.labelled import (
    LabelledConfig,
    LabelledModel,
    LossWeights,
    labelled_elbo,
    labelled_terms,
    m2_loss,
    unlabelled_elbo,
)
from vae_explorer.core.model import VAE, VAEConfig, kl_divergence


def _model(kind: str = "m2", likelihood: str = "bernoulli", latent: int = 3) -> LabelledModel:
    torch.manual_seed(0)
    config = LabelledConfig(kind, latent, 16, likelihood, 8, m1_latent_dim=6, m1_hidden_dim=12)
    return LabelledModel(config)


def _vae_for_class(model: LabelledModel, y: int) -> VAE:
    """The VAE that M2's encoder and decoder are once y is fixed: y's one-hot column
    folded into the first layers' biases."""
    m2, c = model.m2, model.config
    vae = VAE(VAEConfig(c.latent_dim, c.hidden_dim, c.likelihood))
    with torch.no_grad():
        vae.enc_hidden.weight.copy_(m2.enc_hidden.weight[:, : -c.classes])
        vae.enc_hidden.bias.copy_(m2.enc_hidden.bias + m2.enc_hidden.weight[:, -c.classes + y])
        vae.dec_hidden.weight.copy_(m2.dec_hidden.weight[:, : -c.classes])
        vae.dec_hidden.bias.copy_(m2.dec_hidden.bias + m2.dec_hidden.weight[:, -c.classes + y])
        for name in ("enc_mu", "enc_logvar", "dec_out"):
            getattr(vae, name).load_state_dict(getattr(m2, name).state_dict())
    return vae


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_labelled_term_is_the_vae_elbo_when_y_is_known(small_images, likelihood):
    model = _model(likelihood=likelihood)
    x = torch.as_tensor(small_images[:20].reshape(20, -1)).float() / 255
    y = 7
    eps = torch.randn(20, model.latent_dim)
    recon, kl = labelled_terms(model.m2, x, torch.full((20,), y), eps=eps)
    vae = _vae_for_class(model, y)
    mu, logvar = vae.encode(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    torch.testing.assert_close(recon, -vae.log_likelihood(x, vae.decode_logits(z)))
    torch.testing.assert_close(kl, kl_divergence(mu, logvar))
    elbo = labelled_elbo(model.m2, x, torch.full((20,), y), eps=eps)
    torch.testing.assert_close(elbo, -(recon + kl) - math.log(10))


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_unlabelled_term_is_the_expectation_over_y_plus_the_entropy(small_images, kind):
    model = _model(kind)
    x = model.features(torch.as_tensor(small_images[:12].reshape(12, -1)).float() / 255).detach()
    eps = torch.randn(10, 12, model.latent_dim)
    got = unlabelled_elbo(model.m2, x, eps=eps)
    q = torch.softmax(model.m2.class_logits(x), -1)
    expected = torch.zeros(12)
    for c in range(10):
        expected += q[:, c] * labelled_elbo(model.m2, x, torch.full((12,), c), eps=eps[c])
    expected -= (q * q.log()).sum(-1)
    torch.testing.assert_close(got, expected)


def test_batch_loss_weighs_the_terms_as_the_paper(small_images):
    model = _model()
    x = torch.as_tensor(small_images[:30].reshape(30, -1)).float() / 255
    x_l, y_l, x_u = x[:10], torch.arange(10), x[10:]
    weights = LossWeights.for_split(100, 59_900)
    assert weights.labelled_share == pytest.approx(100 / 60_000)
    seed = 3
    loss, parts = m2_loss(model.m2, x_l, y_l, x_u, weights, torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed)
    neg_l = -labelled_elbo(model.m2, x_l, y_l, gen).mean()
    ce = F.cross_entropy(model.m2.class_logits(x_l), y_l)
    neg_u = -unlabelled_elbo(model.m2, x_u, gen).mean()
    expected = 100 / 60_000 * neg_l + 59_900 / 60_000 * neg_u + 0.1 * ce
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(parts["classification"], ce)


def test_with_every_label_the_loss_is_a_conditional_vae(small_images):
    model = _model()
    x = torch.as_tensor(small_images[:10].reshape(10, -1)).float() / 255
    y = torch.arange(10)
    weights = LossWeights.for_split(10, 0)
    loss, parts = m2_loss(model.m2, x, y, x[:0], weights, torch.Generator().manual_seed(0))
    assert "unlabelled" not in parts
    neg_l = -labelled_elbo(model.m2, x, y, torch.Generator().manual_seed(0)).mean()
    torch.testing.assert_close(loss, neg_l + 0.1 * F.cross_entropy(model.m2.class_logits(x), y))


def test_oversampled_weights_keep_the_papers_classification_ratio():
    # 100 of 60,000 labelled, batches of 100 labelled + 100 unlabelled images: each labelled
    # image's cross-entropy weighs alpha N / N_l = 60 times its ELBO, as in the paper.
    weights = LossWeights.oversampled(100, 100, 100, 60_000, alpha=0.1)
    assert weights.labelled_share == weights.unlabelled_share == 0.5
    assert weights.alpha / weights.labelled_share == pytest.approx(60.0)
    paper = LossWeights.for_split(100, 59_900, alpha=0.1)
    assert paper.alpha / paper.labelled_share == pytest.approx(weights.alpha / weights.labelled_share)
    every = LossWeights.oversampled(50, 0, 1000, 1000, alpha=0.1)  # all labelled: as the paper
    assert (every.labelled_share, every.unlabelled_share, every.alpha) == (1.0, 0.0, pytest.approx(0.1))


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_every_class_encoding_is_the_encoder_on_each_class(kind):
    """encode_every_class computes the image's share of the hidden layer once; it must be
    the encoder applied to every (image, class) pair, class-major, values and gradients."""
    model = _model(kind)
    nets = model.m2
    x = torch.rand(5, nets.config.data_dim)
    classes = nets.config.classes
    ys = torch.arange(classes).repeat_interleave(5)
    got = nets.encode_every_class(x)
    (got[0].sum() + got[1].square().sum()).backward()
    grads = [p.grad.clone() for p in nets.parameters() if p.grad is not None]
    nets.zero_grad(set_to_none=True)
    want = nets.encode(x.repeat(classes, 1), F.one_hot(ys, classes).float())
    (want[0].sum() + want[1].square().sum()).backward()
    ref = [p.grad.clone() for p in nets.parameters() if p.grad is not None]
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-6)
    assert len(grads) == len(ref) > 0
    for a, b in zip(grads, ref, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_under_bf16_autocast_the_elbo_terms_stay_float32():
    """The labelled job runs M2's steps under bf16 autocast: the products in bf16, but the
    noise, KL, likelihood and q(y|x)'s probabilities in float32."""
    nets = _model("m2").m2
    x, y = torch.rand(4, 784), torch.tensor([0, 1, 2, 3])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        recon, kl = labelled_terms(nets, x, y)
        u = unlabelled_elbo(nets, x)
    assert recon.dtype == kl.dtype == u.dtype == torch.float32
    assert torch.isfinite(u).all()


def test_an_empty_unlabelled_batch_gives_an_empty_result():
    nets = _model("m2").m2
    assert unlabelled_elbo(nets, torch.rand(0, 784)).shape == (0,)

"""Imputation methods on cases with known answers, plus API contracts (shapes, seeds, devices)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_explorer.core.imputation import METHODS, impute, impute_multiple, marginal_mean_image
from vae_explorer.core.imputation import api as imp
from vae_explorer.core.masks import make_mask
from vae_explorer.core.model import VAE, VAEConfig, as_image_tensor

FAST = {"steps": 4, "samples": 16}


@pytest.fixture(params=["bernoulli", "gaussian"])
def sharp_model(request) -> VAE:
    """A small untrained 2-d model whose decoded images change a lot across latent space."""
    torch.manual_seed(1)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=32, likelihood=request.param))
    with torch.no_grad():
        model.dec_hidden.weight.mul_(2.0)
        model.dec_out.weight.mul_(6.0)
    return model


@pytest.fixture
def digits(small_images) -> np.ndarray:
    return small_images[:6]


@pytest.mark.parametrize("method", METHODS)
def test_observed_pixels_come_back_exactly(sharp_model, digits, method):
    mask = make_mask("middle_rows", n=len(digits))
    out = impute(sharp_model, digits, mask, method=method, **FAST)
    x = as_image_tensor(digits)
    assert out.shape == (6, 784) and out.dtype == torch.float32
    assert torch.equal(out[~torch.as_tensor(mask)], x[~torch.as_tensor(mask)])
    assert not torch.equal(out[torch.as_tensor(mask)], x[torch.as_tensor(mask)])
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("method", METHODS)
def test_nothing_missing_changes_nothing(sharp_model, digits, method):
    mask = np.zeros((len(digits), 784), bool)
    out = impute(sharp_model, digits.astype(np.float32) / 255, mask, method=method, **FAST)
    assert torch.equal(out, as_image_tensor(digits))


@pytest.mark.parametrize("method", METHODS)
def test_accepts_28x28_masks_one_shared_mask_and_float_masks(sharp_model, digits, method):
    m28 = make_mask("left_half", n=len(digits)).reshape(-1, 28, 28)
    a = impute(sharp_model, digits, m28, method=method, seed=5, **FAST)
    b = impute(sharp_model, digits.reshape(-1, 784), m28[0].astype(np.float32), method=method,
               seed=5, **FAST)  # fmt: skip
    assert torch.equal(a, b)


def test_single_with_everything_missing_decodes_the_encoded_fill(sharp_model, digits):
    mask = np.ones((len(digits), 784), bool)
    out = impute(sharp_model, digits, mask, method="single")
    with torch.no_grad():
        mu, _ = sharp_model.encode(torch.zeros(1, 784))
        expected = sharp_model.decode(mu).expand(len(digits), -1)
    torch.testing.assert_close(out, expected)
    fill = torch.full((1, 784), 0.3)
    out_mean = impute(sharp_model, digits, mask, method="single", fill=0.3)
    with torch.no_grad():
        torch.testing.assert_close(out_mean[0], sharp_model.decode(sharp_model.encode(fill)[0])[0])


def test_mean_fill_is_the_models_mean_image(sharp_model, digits):
    mask = make_mask("middle_rows", n=len(digits))
    a = impute(sharp_model, digits, mask, method="single", fill="mean")
    b = impute(sharp_model, digits, mask, method="single", fill=marginal_mean_image(sharp_model))
    torch.testing.assert_close(a, b)


@pytest.fixture(params=["bernoulli", "gaussian"])
def soft_model(request) -> VAE:
    """Like sharp_model but gentler, so that q(z|x) proposals are accepted now and then."""
    torch.manual_seed(1)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=32, likelihood=request.param))
    with torch.no_grad():
        model.dec_hidden.weight.mul_(2.0)
        model.dec_out.weight.mul_(1.5)
    return model


def test_importance_with_everything_missing_gives_the_models_mean_image(sharp_model):
    """Nothing observed: weights p(z)/q(z|fill), so the estimate is E_p(z)[decoder mean]."""
    truth = marginal_mean_image(sharp_model, n=100_000, seed=1)
    out = impute(sharp_model, torch.rand(2, 784), np.ones((2, 784), bool), method="importance",
                 samples=20_000, steps=1)  # fmt: skip
    assert (truth - 0.5).abs().max() > 0.3  # the answer is far from flat grey: the test has teeth
    assert (out - truth).abs().max() < 0.03


def test_mwg_keeps_the_models_law_and_pseudo_gibbs_drifts(soft_model):
    """Started exactly at p(z) with nothing observed, MWG's chain stays at p(z, x) (its
    Metropolis-Hastings correction at work), while pseudo-Gibbs drifts to q's fixed point."""
    truth = marginal_mean_image(soft_model, n=100_000, seed=1)
    mask = np.ones((1, 784), bool)
    kw = dict(samples=1000, steps=12, init="prior")
    mwg = impute_multiple(soft_model, torch.rand(1, 784), mask, method="mwg", **kw)
    pg = impute(soft_model, torch.rand(1, 784), mask, method="pseudo_gibbs", **kw)
    assert 0.01 < float(mwg.acceptance) <= 1  # the chain does move
    assert (truth - 0.5).abs().max() > 0.15  # far from flat grey
    assert (mwg.images - truth).abs().max() < 0.025
    assert (pg - truth).abs().max() > 1.4 * (mwg.images - truth).abs().max()


def _grid_conditional_mean(model: VAE, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """E[x | x_obs] by quadrature over a fine 2-d latent grid: the exact answer to compare to."""
    axis = torch.linspace(-5, 5, 301)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    z = torch.stack([gx.ravel(), gy.ravel()], 1)
    with torch.no_grad():
        logits = model.decode_logits(z)
        log_w = model.log_likelihood(x, logits, mask=observed) - 0.5 * z.square().sum(1)
        w = torch.softmax(log_w.double(), 0).float()
        return w @ torch.sigmoid(logits)


@pytest.mark.parametrize("method", ["importance", "mwg"])
def test_exact_methods_match_the_true_conditional_mean(soft_model, small_images, method):
    """importance and mwg are consistent: with enough samples they reach E[x_mis | x_obs]."""
    x = as_image_tensor(small_images[1500])[0]
    mask = torch.as_tensor(make_mask("middle_rows")[0])
    truth = _grid_conditional_mean(soft_model, x, ~mask)
    single = impute(soft_model, x, mask, method="single")[0]
    settings_ = {"importance": dict(samples=5000, steps=2),
                 "mwg": dict(samples=300, steps=30)}[method]  # fmt: skip
    out = impute(soft_model, x, mask, method=method, **settings_)[0]
    err = (out - truth)[mask].abs().max().item()
    assert err < 0.05, err
    assert err < (single - truth)[mask].abs().max().item()


def test_mwg_acceptance_is_a_probability(sharp_model, digits):
    result = impute_multiple(sharp_model, digits, make_mask("bottom_half", len(digits)),
                             method="mwg", steps=20, samples=4, num_imputations=3)  # fmt: skip
    assert result.acceptance is not None and result.accepted_fraction is not None
    assert result.acceptance.shape == (len(digits),)
    assert ((result.acceptance > 0) & (result.acceptance <= 1)).all()
    assert ((result.accepted_fraction >= 0) & (result.accepted_fraction <= 1)).all()
    assert result.ess is None


def test_importance_reports_an_effective_sample_size(sharp_model, digits):
    result = impute_multiple(sharp_model, digits, make_mask("middle_rows", len(digits)),
                             method="importance", samples=64)  # fmt: skip
    assert result.ess is not None
    assert ((result.ess >= 1 - 1e-4) & (result.ess <= 64 + 1e-3)).all()


def test_importance_on_a_model_that_overflows_says_so(digits, monkeypatch):
    """Finite weights that overflow (a flipped bit) gave NaN importance weights and torch's
    "invalid multinomial distribution", reported as a bug."""
    from vae_explorer.core.model import InputError

    model = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    with torch.no_grad():
        model.enc_logvar.weight[0, 3] = 6.3e36
    with pytest.raises(InputError, match="non-finite values"):
        impute_multiple(model, digits, make_mask("middle_rows", len(digits)), method="importance", **FAST)
    # Many samples go in chunks (another path): the same.
    monkeypatch.setattr(imp, "_ROWS_PER_CHUNK", 8)
    with pytest.raises(InputError, match="non-finite values"):
        impute_multiple(model, digits, make_mask("middle_rows", len(digits)), method="importance", **FAST)


@pytest.mark.parametrize("method", METHODS)
def test_multiple_imputations_have_shapes_and_spread(sharp_model, digits, method):
    mask = make_mask("middle_rows", n=len(digits))
    res = impute_multiple(sharp_model, digits, mask, method=method, num_imputations=5, **FAST)
    m = torch.as_tensor(mask)
    assert res.draws.shape == (5, len(digits), 784) and res.std.shape == (len(digits), 784)
    x = as_image_tensor(digits)
    for d in res.draws:
        assert torch.equal(d[~m], x[~m])
    assert (res.std[~m] == 0).all()
    assert res.std[m].max() > 0.01  # draws differ where pixels are missing
    assert torch.equal(res.images, impute(sharp_model, digits, mask, method=method, **FAST)) or \
        method != "single"  # fmt: skip


def test_pixel_noise_draws_are_binary_for_bernoulli(digits):
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden_dim=16))
    mask = make_mask("middle_rows", n=2)
    res = impute_multiple(model, digits[:2], mask, method="importance", samples=8,
                          num_imputations=3, pixel_noise=True)  # fmt: skip
    vals = res.draws[:, torch.as_tensor(mask)]
    assert set(vals.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("method", METHODS)
def test_seeds_make_results_reproducible(sharp_model, digits, method):
    mask = make_mask("centre_square", n=len(digits))
    a = impute(sharp_model, digits, mask, method=method, seed=7, **FAST)
    b = impute(sharp_model, digits, mask, method=method, seed=7, **FAST)
    c = impute(sharp_model, digits, mask, method=method, seed=8, **FAST)
    assert torch.equal(a, b)
    assert torch.equal(a, c) == (method == "single")


@pytest.mark.parametrize("method", METHODS)
def test_chunked_batches_match_their_shapes_and_keep_observed(sharp_model, small_images, method,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.setattr(imp, "_ROWS_PER_CHUNK", 50)
    x = small_images[:23]
    mask = make_mask("random", n=len(x), fraction=0.3, seed=1)
    out = impute(sharp_model, x, mask, method=method, **FAST)
    m = torch.as_tensor(mask)
    assert out.shape == (23, 784)
    assert torch.equal(out[~m], as_image_tensor(x)[~m])
    if method == "single":  # deterministic: chunking changes nothing
        monkeypatch.setattr(imp, "_ROWS_PER_CHUNK", 20_000)
        torch.testing.assert_close(out, impute(sharp_model, x, mask, method=method))


def test_empty_batch(sharp_model):
    out = impute(sharp_model, np.zeros((0, 784), np.float32), np.zeros((0, 784), bool))
    assert out.shape == (0, 784)


def test_results_follow_the_input_device_and_leave_the_model_mode_alone(sharp_model, digits):
    sharp_model.train()
    out = impute(sharp_model, torch.as_tensor(digits), make_mask("middle_rows", len(digits)),
                 method="mwg", **FAST)  # fmt: skip
    assert out.device.type == "cpu" and sharp_model.training


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", METHODS)
def test_runs_on_the_models_cuda_device(sharp_model, digits, method):
    model = sharp_model.to("cuda")
    mask = make_mask("middle_rows", len(digits))
    out = impute(model, digits, mask, method=method, **FAST)
    assert out.device.type == "cpu"
    x_gpu = torch.as_tensor(digits).cuda()
    out_gpu = impute(model, x_gpu, torch.as_tensor(mask).cuda(), method=method, **FAST)
    assert out_gpu.device.type == "cuda"
    assert torch.equal(out_gpu.cpu()[~torch.as_tensor(mask)], out[~torch.as_tensor(mask)])


def test_bad_arguments_are_clear_errors(sharp_model, digits):
    mask = make_mask("middle_rows", len(digits))
    with pytest.raises(ValueError, match="unknown imputation method"):
        impute(sharp_model, digits, mask, method="magic")
    with pytest.raises(ValueError, match="mask must have shape"):
        impute(sharp_model, digits, np.zeros((3, 784), bool))
    with pytest.raises(ValueError, match=">= 1"):
        impute(sharp_model, digits, mask, method="mwg", steps=0)
    with pytest.raises(ValueError, match="fill"):
        impute(sharp_model, digits, mask, fill="median")


@settings(max_examples=15, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 2**31 - 1),
    fraction=st.floats(0.0, 1.0),
    n=st.integers(1, 4),
)
def test_property_observed_untouched_and_values_in_range(method, seed, fraction, n):
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden_dim=8))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    mask = make_mask("random", n=n, fraction=fraction, seed=seed)
    out = impute(model, x, mask, method=method, seed=seed, steps=2, samples=3)
    m = torch.as_tensor(mask)
    assert torch.equal(out[~m], as_image_tensor(x)[~m])
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_small_jobs_leave_the_thread_setting_as_they_found_it(sharp_model, digits):
    before = torch.get_num_threads()
    impute(sharp_model, digits[:1], make_mask("middle_rows"), method="pseudo_gibbs", **FAST)
    assert torch.get_num_threads() == before


def test_every_method_has_a_label():
    from vae_explorer.core.imputation import METHOD_LABELS

    assert tuple(METHOD_LABELS) == METHODS
    assert METHOD_LABELS["mwg"] == "Metropolis-within-Gibbs"
    assert METHOD_LABELS["importance"] == "Importance-weighted"

"""Bad numbers and unbounded sizes fed for real: NaN / infinite pixels, latent codes of the
wrong width, and sample counts far beyond one chunk (checked against exact answers, and
under a real memory limit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from vae_explorer.core.evaluation import evaluate
from vae_explorer.core.imputation import api as imp
from vae_explorer.core.imputation import impute, impute_multiple
from vae_explorer.core.latent import decode_latents, encode_images
from vae_explorer.core.masks import make_mask
from vae_explorer.core.model import VAE, InputError, VAEConfig, as_image_tensor


@pytest.fixture
def soft_model() -> VAE:
    """A small 2-d model whose conditionals are smooth enough for exact checks."""
    torch.manual_seed(1)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=32))
    with torch.no_grad():
        model.dec_hidden.weight.mul_(2.0)
        model.dec_out.weight.mul_(1.5)
    return model


def _with_nan(small_images) -> np.ndarray:
    x = small_images[:20].astype(np.float32) / 255
    x[3, 5, 7] = np.nan
    x[11, 0, 2] = np.inf
    x[11, 27, 27] = np.nan
    return x


def test_non_finite_pixels_are_refused_at_the_boundary_naming_count_and_place(small_images):
    with pytest.raises(InputError) as info:
        as_image_tensor(_with_nan(small_images))
    message = str(info.value)
    assert "2 NaN and 1 infinite" in message and "in 2 of 20 image(s)" in message
    assert "image 3 pixel 147 (row 5, column 7)" in message


@pytest.mark.parametrize(
    "use",
    [
        lambda m, x: evaluate(m, x),
        lambda m, x: impute(m, x, make_mask("middle_rows", len(x)), method="importance", samples=8),
        lambda m, x: impute(m, x, make_mask("middle_rows", len(x)), method="mwg", samples=2, steps=2),
        lambda m, x: encode_images(m, x),
    ],
)
def test_every_entry_point_refuses_nan_data_with_the_same_message(tiny_model, small_images, use):
    with pytest.raises(InputError, match="NaN .* pixel value"):
        use(tiny_model, _with_nan(small_images))


def test_float64_pixels_beyond_float32_are_named_as_such():
    with pytest.raises(InputError, match="784 infinite \\(or too large for float32\\)"):
        as_image_tensor(np.full((1, 784), 1e300))


def test_non_numeric_images_are_an_input_error():
    with pytest.raises(InputError, match="array of numbers"):
        as_image_tensor(np.array(["x"] * 784))


@pytest.mark.parametrize("width", [1, 3, 10])
def test_latent_codes_of_the_wrong_width_name_both_widths(tiny_model, width):
    with pytest.raises(InputError, match=f"must have 2 values each.*shape \\(4, {width}\\)"):
        tiny_model.decode(torch.zeros(4, width))
    with pytest.raises(InputError, match=f"\\[N, 2\\].*\\(4, {width}\\)"):
        decode_latents(tiny_model, np.zeros((4, width), np.float32))
    with pytest.raises(InputError, match="784 pixels each"):
        tiny_model.encode(torch.zeros(4, width))


def test_decoding_more_codes_than_memory_holds_is_refused_before_work(tiny_model):
    z = np.broadcast_to(np.zeros(2, np.float32), (10**12, 2))  # a view: no memory of its own
    with pytest.raises(InputError, match="GB for the images, more than the"):
        decode_latents(tiny_model, z)


def test_more_imputations_than_memory_holds_are_refused(tiny_model, small_images):
    with pytest.raises(InputError, match="imputations of 4 image\\(s\\) need about .* GB"):
        impute_multiple(tiny_model, small_images[:4], make_mask("middle_rows", 4), num_imputations=10**9)


def _grid_conditional_mean(model: VAE, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """E[x | x_obs] by quadrature over a fine 2-d latent grid: the exact answer."""
    axis = torch.linspace(-5, 5, 301)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    z = torch.stack([gx.ravel(), gy.ravel()], 1)
    with torch.no_grad():
        logits = model.decode_logits(z)
        log_w = model.log_likelihood(x, logits, mask=observed) - 0.5 * z.square().sum(1)
        return torch.softmax(log_w.double(), 0).float() @ torch.sigmoid(logits)


@pytest.mark.parametrize(
    ("method", "settings"),
    [("importance", {"samples": 4000, "steps": 2}), ("mwg", {"samples": 300, "steps": 30})],
)
def test_chunked_draws_and_chains_still_reach_the_exact_answer(soft_model, small_images, monkeypatch,
                                                               method, settings):  # fmt: skip
    """With the chunk forced small (so 4000 draws / 300 chains run in many chunks), the
    estimate is still the true conditional mean and every output is well formed."""
    monkeypatch.setattr(imp, "_ROWS_PER_CHUNK", 256)
    x = as_image_tensor(small_images[1500:1502])
    mask = torch.as_tensor(make_mask("middle_rows", 2))
    result = impute_multiple(soft_model, x, mask, method=method, num_imputations=5, **settings)
    for i in range(2):
        truth = _grid_conditional_mean(soft_model, x[i], ~mask[i])
        assert (result.images[i] - truth)[mask[i]].abs().max() < 0.05
    assert result.draws.shape == (5, 2, 784) and torch.isfinite(result.draws).all()
    assert torch.equal(result.draws[:, ~mask], x[None].expand(5, -1, -1)[:, ~mask])
    assert float(result.std[mask].mean()) > 0  # the draws differ: really resampled
    if method == "importance":
        assert result.ess is not None and ((result.ess >= 1) & (result.ess <= 4000 + 1e-3)).all()
    else:
        assert result.acceptance is not None and ((result.acceptance > 0) & (result.acceptance <= 1)).all()


def test_progress_reports_each_chunk_of_images(soft_model, small_images, monkeypatch):
    monkeypatch.setattr(imp, "_ROWS_PER_CHUNK", 100)
    seen: list[int] = []
    impute_multiple(soft_model, small_images[:7], make_mask("middle_rows", 7), method="importance",
                    samples=50, progress=seen.append)  # fmt: skip
    assert seen == [2, 4, 6, 7]


def test_iwae_progress_and_a_large_k_in_bounded_memory(tiny_model, small_images):
    seen: list[int] = []
    result = evaluate(tiny_model, small_images[:10], iwae_samples=5000, progress=seen.append)
    assert seen[-1] == 10 and seen == sorted(seen) and len(seen) > 2
    assert result["log_likelihood"] >= result["elbo"] - 1


def test_a_huge_sample_count_runs_under_a_memory_limit(tmp_path):
    """200,000 importance draws and 100,000 chains for one image: unchunked, each [rows, 784]
    tensor alone is 0.3-0.6 GB and several are live; under a limit of +1 GB the chunked
    code must still run."""
    script = textwrap.dedent(
        """
        import resource, torch
        from vae_explorer.core.imputation import impute
        from vae_explorer.core.masks import make_mask
        from vae_explorer.core.model import VAE, VAEConfig
        torch.manual_seed(0)
        torch.set_num_threads(1)
        model = VAE(VAEConfig(2, 16))
        x, mask = torch.rand(1, 784), make_mask("middle_rows", 1)
        impute(model, x, mask, method="importance", samples=10, steps=1)  # warm up
        impute(model, x, mask, method="pseudo_gibbs", samples=10, steps=1)
        size = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + (1 << 30), resource.RLIM_INFINITY))
        a = impute(model, x, mask, method="importance", samples=200_000, steps=1)
        b = impute(model, x, mask, method="pseudo_gibbs", samples=100_000, steps=1)
        print("ok", bool(torch.isfinite(a).all() and torch.isfinite(b).all()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ok", "True"]

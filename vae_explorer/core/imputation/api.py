"""Fill in missing pixels with a trained VAE: four methods, point estimates and spreads.

Let x = (x_obs, x_mis) and mask True = missing. Each method estimates the conditional
p(x_mis | x_obs) of the model p(x) = integral p(x|z) p(z) dz:

- "single": the seed article's way. Fill the missing pixels (0 or the model's mean image),
  encode, decode the posterior mean once and keep the decoded missing pixels.
- "pseudo_gibbs" (Rezende, Mohamed & Wierstra 2014): repeat z ~ q(z|x), x_mis ~ p(x_mis|z).
  Cheap and often good, but the chain targets q's fixed point, not p(x_mis|x_obs).
- "mwg" (Metropolis-within-Gibbs, Mattei & Frellsen 2018): the same chain, but z' ~ q(z|x)
  is accepted with the Metropolis-Hastings ratio for the target p(z | x_obs, x_mis), so the
  chain's stationary law is the model's true conditional.
- "importance" (self-normalised importance sampling, as in MIWAE, Mattei & Frellsen 2019):
  K draws z_k ~ q(z|x_filled), weights w_k ∝ p(x_obs|z_k) p(z_k) / q(z_k|x_filled);
  E[x_mis | x_obs] ≈ sum_k w_k E[x_mis | z_k].

Point estimates are Rao-Blackwellised: instead of averaging sampled pixels we average the
decoder means E[x_mis | z] over the chain's states (after a burn-in of half the steps) or
over the weighted draws, which has lower variance and lower squared error.

"samples" means K importance draws for "importance" and the number of parallel chains per
image for the two chains (parallel chains cost little extra on a CPU and beat longer
chains at equal time); "steps" is the chain length, or the number of importance rounds
(each round re-encodes the image with the previous round's imputation, a better proposal).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..devices import available_memory
from ..image import IMAGE_PIXELS, IMAGE_SIDE
from ..model import VAE, InputError, as_image_tensor
from . import samplers
from .samplers import INIT_SAMPLES, Part

METHODS = ("single", "pseudo_gibbs", "mwg", "importance")
FILLS = ("zero", "mean")
REFILLS = ("sample", "mean")
INITS = ("fill", "importance", "prior")
DEFAULT_METHOD = "importance"
# What the user reads for each method (the canvas' method menu, tables).
METHOD_LABELS = {
    "single": "Single pass",
    "pseudo_gibbs": "Pseudo-Gibbs",
    "mwg": "Metropolis-within-Gibbs",
    "importance": "Importance-weighted",
}
# Chosen with benchmarks/imputation_bench.py: each imputes one canvas image in under 10 ms on
# a 2-core CPU (limit 50 ms) and, on the middle-rows mask, is near its method's plateau
# (longer chains or more draws gained < 3% MSE for 2-5x the time).
DEFAULT_STEPS = {"single": 1, "pseudo_gibbs": 20, "mwg": 30, "importance": 2}
DEFAULT_SAMPLES = {"single": 1, "pseudo_gibbs": 8, "mwg": 8, "importance": 500}
DEFAULT_INIT = "importance"
# Work this small (images x chains or draws) runs on one CPU thread: see _small_work_threads.
_ONE_THREAD_ROWS = 2048
# Rows of decoder output held at once (~60 MB of float32 logits); larger batches are chunked.
_ROWS_PER_CHUNK = 20_000


@dataclass
class Imputation:
    """The result of an imputation: the point estimate, several draws and diagnostics.

    ``images`` [B, 784] is the low-error point estimate (observed pixels exactly as given);
    ``draws`` [M, B, 784] are M imputations whose per-pixel spread ``std`` [B, 784] shows
    how sure the model is (0 on observed pixels). For "mwg", ``acceptance`` [B] is the mean
    Metropolis-Hastings acceptance probability min(1, ratio) per image and
    ``accepted_fraction`` [B] the share of proposals accepted; for "importance", ``ess``
    [B] is the effective sample size of the last round's weights.
    """

    images: torch.Tensor
    draws: torch.Tensor
    std: torch.Tensor
    method: str
    steps: int
    samples: int
    acceptance: torch.Tensor | None = None
    accepted_fraction: torch.Tensor | None = None
    ess: torch.Tensor | None = None


def impute(
    model: VAE,
    images: Any,
    mask: Any,
    method: str = DEFAULT_METHOD,
    steps: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    fill: str | float | Any = "zero",
    refill: str = "sample",
    init: str = DEFAULT_INIT,
) -> torch.Tensor:
    """Impute the missing pixels (mask True) of ``images``; returns float32 [B, 784].

    ``images``: uint8 (0-255) or float in [0, 1], [B, 784] or [B, 28, 28], numpy or torch;
    ``mask``: bool of the same layout (or one mask for all images). The observed pixels of
    the result equal ``as_image_tensor(images)`` exactly. The work runs on the model's
    device; the result is on the input tensor's device (CPU for numpy input).
    """
    return impute_multiple(
        model, images, mask, method, steps, samples, seed, fill, refill, init, num_imputations=1
    ).images


def impute_multiple(
    model: VAE,
    images: Any,
    mask: Any,
    method: str = DEFAULT_METHOD,
    steps: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    fill: str | float | Any = "zero",
    refill: str = "sample",
    init: str = DEFAULT_INIT,
    num_imputations: int = 8,
    pixel_noise: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Imputation:
    """Point estimate plus ``num_imputations`` draws from the method's conditional.

    Each draw is the decoder mean E[x_mis | z] for one z drawn from the method's
    approximation of p(z | x_obs) (a chain's final state, a resampled importance draw, or
    for "single" a draw from q(z | x_filled)); with ``pixel_noise`` the pixels are sampled
    from p(x_mis | z) instead, which adds the decoder's pixel noise to the spread.
    ``refill`` ("sample" or "mean") is how pseudo-Gibbs refills the missing pixels between
    steps; "mwg" always samples, as its correctness needs. ``init`` is how the two chains
    start: "fill" encodes the filled image (Rezende et al.'s cold start), "importance"
    draws each chain's first z by importance resampling from p(z | x_obs) (100 draws),
    "prior" draws it from p(z) (the exact start when nothing is observed; tests use it).
    Any ``samples`` fits in memory (draws and chains are taken in chunks); ``progress``
    is called with the number of images done after each chunk of images.
    """
    if method not in METHODS:
        raise ValueError(f"unknown imputation method {method!r}; choose one of {METHODS}")
    if refill not in REFILLS:
        raise ValueError(f"refill must be one of {REFILLS}, got {refill!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    steps = DEFAULT_STEPS[method] if steps is None else int(steps)
    samples = DEFAULT_SAMPLES[method] if samples is None else int(samples)
    if steps < 1 or samples < 1 or num_imputations < 1:
        raise ValueError(
            f"steps, samples and num_imputations must be >= 1, got {steps}, {samples}, {num_imputations}"
        )
    out_device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
    device = model.device
    x_all = as_image_tensor(images).to(device)
    m_all = as_mask(mask, x_all.shape[0]).to(device)
    b_all = x_all.shape[0]
    _check_result_fits(num_imputations, b_all)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    was_training = model.training
    model.eval()
    work_rows = b_all * (samples if method != "single" else 1)
    small = device.type == "cpu" and work_rows <= _ONE_THREAD_ROWS
    try:
        with torch.no_grad(), _one_thread() if small else contextlib.nullcontext():
            fill_vec = fill_vector(model, fill, device)
            if method == "importance":
                rows = samples
            elif method == "single":
                rows = num_imputations
            else:
                rows = max(samples, num_imputations, INIT_SAMPLES if init == "importance" else 1)
            chunk = max(1, _ROWS_PER_CHUNK // rows)
            parts: list[Part] = []
            for start in range(0, b_all, chunk):
                x = x_all[start : start + chunk]
                m = m_all[start : start + chunk]
                x_fill = torch.where(m, fill_vec.expand_as(x), x)
                args = (model, x, m, x_fill, steps, samples, num_imputations, generator)
                if method == "single":
                    part = samplers.single(*args)
                elif method == "pseudo_gibbs":
                    part = _chains(samplers.pseudo_gibbs, args, {"refill": refill, "init": init})
                elif method == "mwg":
                    part = _chains(samplers.mwg, args, {"init": init})
                else:
                    part = samplers.importance(*args, max_rows=_ROWS_PER_CHUNK)
                if pixel_noise:
                    part.draws = model.sample_pixels(torch.logit(part.draws, eps=1e-6), generator)
                parts.append(part)
                if progress is not None:
                    progress(min(start + chunk, b_all))
    finally:
        model.train(was_training)
    return _assemble(parts, x_all, m_all, method, steps, samples, num_imputations, out_device)


# --- helpers ------------------------------------------------------------------------------
def _chains(sampler: Callable[..., Part], args: tuple[Any, ...], options: dict[str, Any]) -> Part:
    """Run a chain sampler, splitting its chains into groups when images x chains would
    exceed ``_ROWS_PER_CHUNK`` rows. Chains are independent, so the groups' estimates are
    averaged by their chain counts and their draws concatenated."""
    model, x, m, x_fill, steps, samples, n_draws, g = args
    total = max(samples, n_draws)
    per_group = max(1, _ROWS_PER_CHUNK // x.shape[0])
    if total <= per_group:
        return sampler(*args, **options)
    mean = torch.zeros_like(x)
    draws, acceptance, accepted = (
        [],
        torch.zeros(x.shape[0], device=x.device),
        torch.zeros(x.shape[0], device=x.device),
    )
    for first in range(0, total, per_group):
        chains = min(per_group, total - first)
        counted = max(0, min(chains, samples - first))  # chains that enter the point estimate
        wanted = max(0, min(chains, n_draws - first))  # chains whose final state is a draw
        part = sampler(model, x, m, x_fill, steps, max(counted, 1), max(wanted, chains), g, **options)
        if counted:
            mean += part.mean * (counted / samples)
        draws.append(part.draws[:wanted])
        if part.acceptance is not None and part.accepted_fraction is not None:
            acceptance += part.acceptance * (chains / total)
            accepted += part.accepted_fraction * (chains / total)
    has_acceptance = sampler is samplers.mwg
    return Part(
        mean,
        torch.cat(draws),
        acceptance=acceptance if has_acceptance else None,
        accepted_fraction=accepted if has_acceptance else None,
    )


def _check_result_fits(num_imputations: int, images: int) -> None:
    """InputError when the draws asked for ([M, B, 784] float32, held a few times over
    while assembled) would not fit in the memory that is free."""
    needed = 4 * num_imputations * images * IMAGE_PIXELS * 4
    free = available_memory()
    if needed > free:
        raise InputError(
            f"{num_imputations:,} imputations of {images:,} image(s) need about {needed / 1e9:,.1f} GB, "
            f"more than the {free / 1e9:,.1f} GB of memory free; ask for fewer"
        )


_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 1


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one CPU thread while small imputations (one canvas image) are in flight.

    Their matrix products are tiny, so intra-op thread hand-offs dominate, and on a busy CPU
    they stall: one image by pseudo-Gibbs took 160 ms median with 2 threads on a loaded
    2-core machine, 4.5 ms with 1. Reference-counted so overlapping calls restore the
    caller's setting exactly once.
    """
    global _threads_users, _threads_saved
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)


def as_mask(mask: Any, n: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
    if t.dtype != torch.bool:
        t = t != 0
    if t.ndim >= 2 and tuple(t.shape[-2:]) == (IMAGE_SIDE, IMAGE_SIDE):
        t = t.reshape(*t.shape[:-2], IMAGE_PIXELS)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != IMAGE_PIXELS or t.shape[0] not in (1, n):
        raise ValueError(
            f"mask must have shape [{n}, {IMAGE_PIXELS}], [{n}, {IMAGE_SIDE}, {IMAGE_SIDE}] or one "
            f"[{IMAGE_PIXELS}] / [{IMAGE_SIDE}, {IMAGE_SIDE}] mask, "
            f"got {tuple(t.shape)}"
        )
    return t.expand(n, IMAGE_PIXELS) if t.shape[0] == 1 else t


def marginal_mean_image(model: VAE, n: int = 512, seed: int = 0) -> torch.Tensor:
    """E_p(z)[decoder mean], the model's estimate of the dataset's mean image; [784]."""
    device = model.device
    g = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        z = torch.randn((n, model.latent_dim), generator=g, device=device)
        return model.decode(z).mean(0)


def fill_vector(model: VAE, fill: Any, device: torch.device) -> torch.Tensor:
    """The value [1, 784] put in missing pixels before encoding."""
    if isinstance(fill, str):
        if fill == "zero":
            return torch.zeros((1, IMAGE_PIXELS), device=device)
        if fill == "mean":
            return marginal_mean_image(model).to(device).unsqueeze(0)
        raise ValueError(f"fill must be one of {FILLS}, a number or a [784] image, got {fill!r}")
    vec = as_image_tensor(fill) if np.ndim(fill) else torch.full((1, IMAGE_PIXELS), float(fill))
    return vec.reshape(1, IMAGE_PIXELS).to(device)


def _assemble(
    parts: list[Part],
    x: torch.Tensor,
    m: torch.Tensor,
    method: str,
    steps: int,
    samples: int,
    n_draws: int,
    out_device: torch.device,
) -> Imputation:
    if parts:
        mean = torch.cat([p.mean for p in parts])
        draws = torch.cat([p.draws for p in parts], dim=1)
    else:
        mean = x.clone()
        draws = x.unsqueeze(0).repeat(n_draws, 1, 1)
    images = torch.where(m, mean.to(x.dtype), x)
    draws = torch.where(m.unsqueeze(0), draws.to(x.dtype), x.unsqueeze(0))
    std = draws.std(0, unbiased=False) if n_draws > 1 else torch.zeros_like(images)
    std = torch.where(m, std, torch.zeros_like(std))

    def cat(name: str) -> torch.Tensor | None:
        vals = [getattr(p, name) for p in parts]
        if not vals or vals[0] is None:
            return None
        return torch.cat(vals).to(out_device)

    return Imputation(
        images=images.to(out_device),
        draws=draws.to(out_device),
        std=std.to(out_device),
        method=method,
        steps=steps,
        samples=samples,
        acceptance=cat("acceptance"),
        accepted_fraction=cat("accepted_fraction"),
        ess=cat("ess"),
    )

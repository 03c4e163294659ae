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
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .model import (
    GAUSSIAN_VARIANCE,
    IMAGE_PIXELS,
    VAE,
    as_image_tensor,
    log_normal,
    log_standard_normal,
)

METHODS = ("single", "pseudo_gibbs", "mwg", "importance")
FILLS = ("zero", "mean")
REFILLS = ("sample", "mean")
INITS = ("fill", "importance", "prior")
DEFAULT_METHOD = "importance"
# Chosen with benchmarks/imputation_bench.py: each imputes one canvas image in under 10 ms on
# a 2-core CPU (limit 50 ms) and, on the middle-rows mask, is near its method's plateau
# (longer chains or more draws gained < 3% MSE for 2-5x the time).
DEFAULT_STEPS = {"single": 1, "pseudo_gibbs": 20, "mwg": 30, "importance": 2}
DEFAULT_SAMPLES = {"single": 1, "pseudo_gibbs": 8, "mwg": 8, "importance": 500}
DEFAULT_INIT = "importance"
_INIT_SAMPLES = 100  # importance draws per image used to start the chains (init="importance")
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
            f"steps, samples and num_imputations must be >= 1, got {steps}, {samples}, "
            f"{num_imputations}"
        )
    out_device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
    device = model.device
    x_all = as_image_tensor(images).to(device)
    m_all = _as_mask(mask, x_all.shape[0]).to(device)
    b_all = x_all.shape[0]
    generator = torch.Generator(device=device).manual_seed(int(seed))
    was_training = model.training
    model.eval()
    work_rows = b_all * (samples if method != "single" else 1)
    small = device.type == "cpu" and work_rows <= _ONE_THREAD_ROWS
    try:
        with torch.no_grad(), _one_thread() if small else contextlib.nullcontext():
            fill_vec = _fill_vector(model, fill, device)
            if method == "importance":
                rows = samples
            elif method == "single":
                rows = num_imputations
            else:
                rows = max(samples, num_imputations, _INIT_SAMPLES if init == "importance" else 1)
            chunk = max(1, _ROWS_PER_CHUNK // rows)
            parts: list[_Part] = []
            for start in range(0, b_all, chunk):
                x = x_all[start : start + chunk]
                m = m_all[start : start + chunk]
                x_fill = torch.where(m, fill_vec.expand_as(x), x)
                args = (model, x, m, x_fill, steps, samples, num_imputations, generator)
                if method == "single":
                    part = _single(*args)
                elif method == "pseudo_gibbs":
                    part = _pseudo_gibbs(*args, refill=refill, init=init)
                elif method == "mwg":
                    part = _mwg(*args, init=init)
                else:
                    part = _importance(*args)
                if pixel_noise:
                    part.draws = model.sample_pixels(torch.logit(part.draws, eps=1e-6), generator)
                parts.append(part)
    finally:
        model.train(was_training)
    return _assemble(parts, x_all, m_all, method, steps, samples, num_imputations, out_device)


# --- helpers ------------------------------------------------------------------------------
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


@dataclass
class _Part:
    mean: torch.Tensor  # [b, 784] estimate of E[x | x_obs] (missing pixels meaningful)
    draws: torch.Tensor  # [M, b, 784] decoder means (or pixel samples) of M draws
    acceptance: torch.Tensor | None = None
    accepted_fraction: torch.Tensor | None = None
    ess: torch.Tensor | None = None


def _as_mask(mask: Any, n: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
    if t.dtype != torch.bool:
        t = t != 0
    if t.ndim >= 2 and tuple(t.shape[-2:]) == (28, 28):
        t = t.reshape(*t.shape[:-2], IMAGE_PIXELS)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != IMAGE_PIXELS or t.shape[0] not in (1, n):
        raise ValueError(
            f"mask must have shape [{n}, 784], [{n}, 28, 28] or one [784] / [28, 28] mask, "
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


def _fill_vector(model: VAE, fill: Any, device: torch.device) -> torch.Tensor:
    """The value [1, 784] put in missing pixels before encoding."""
    if isinstance(fill, str):
        if fill == "zero":
            return torch.zeros((1, IMAGE_PIXELS), device=device)
        if fill == "mean":
            return marginal_mean_image(model).to(device).unsqueeze(0)
        raise ValueError(f"fill must be one of {FILLS}, a number or a [784] image, got {fill!r}")
    vec = as_image_tensor(fill) if np.ndim(fill) else torch.full((1, IMAGE_PIXELS), float(fill))
    return vec.reshape(1, IMAGE_PIXELS).to(device)


def _sample_z(mu: torch.Tensor, logvar: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=g, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def _single(model, x, m, x_fill, steps, samples, n_draws, g) -> _Part:  # type: ignore[no-untyped-def]
    mu, logvar = model.encode(x_fill)
    mean = model.decode(mu)
    if n_draws == 1:
        return _Part(mean, mean.unsqueeze(0))
    z = _sample_z(mu.expand(n_draws, *mu.shape), logvar.expand(n_draws, *logvar.shape), g)
    draws = model.decode(z.reshape(-1, z.shape[-1])).view(n_draws, *x.shape)
    return _Part(mean, draws)


def _exact_pixels(model: VAE, logits: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x ~ p(x|z) exactly: unlike ``model.sample_pixels`` the Gaussian is not clipped to [0, 1].

    The Metropolis-Hastings ratio uses the model's unclipped density, so the x-step must
    draw from that same density or the chain's target shifts. Chain states only; never shown.
    """
    if model.config.likelihood == "bernoulli":
        return model.sample_pixels(logits, g)
    noise = torch.randn(logits.shape, generator=g, device=logits.device, dtype=logits.dtype)
    return torch.sigmoid(logits) + math.sqrt(GAUSSIAN_VARIANCE) * noise


def _tile(t: torch.Tensor, c: int) -> torch.Tensor:
    """[b, ...] -> [c * b, ...], chain-major (rows k*b .. k*b+b-1 are chain k)."""
    return t.repeat(c, *([1] * (t.ndim - 1)))


def _pseudo_gibbs(model, x, m, x_fill, steps, samples, n_draws, g, refill="sample", init="fill"):  # type: ignore[no-untyped-def]
    b = x.shape[0]
    c = max(samples, n_draws)
    mc = _tile(m, c)
    xc = _tile(x_fill, c)
    if init != "fill":
        _, logits = _start(model, x, m, x_fill, c, g, init)
        new = model.sample_pixels(logits, g) if refill == "sample" else torch.sigmoid(logits)
        xc = torch.where(mc, new, xc)
    burn = steps // 2
    acc = torch.zeros_like(xc)
    for t in range(steps):
        mu, logvar = model.encode(xc)
        logits = model.decode_logits(_sample_z(mu, logvar, g))
        mean = torch.sigmoid(logits)
        if t >= burn:
            acc += mean
        new = model.sample_pixels(logits, g) if refill == "sample" else mean
        xc = torch.where(mc, new, xc)
    acc /= steps - burn
    return _Part(acc.view(c, b, -1)[:samples].mean(0), mean.view(c, b, -1)[:n_draws])


def _start(model, x, m, x_fill, c, g, init):  # type: ignore[no-untyped-def]
    """First chain states: z from p(z) ("prior") or by importance resampling; chain-major."""
    if init == "prior":
        z0 = torch.randn((c * x.shape[0], model.latent_dim), generator=g, device=x.device)
        return z0, model.decode_logits(z0)
    return _sir_init(model, x, m, x_fill, c, g)


def _sir_init(model, x, m, x_fill, c, g):  # type: ignore[no-untyped-def]
    """c starting states per image by importance resampling from p(z | x_obs); chain-major.

    Starting a chain near its target removes most of the burn-in a cold start from the
    filled image needs (a VAE's Gibbs chain moves in small steps when many pixels are set).
    """
    b = x.shape[0]
    mu, logvar = model.encode(x_fill)
    _, z, log_w = _weighted_draws(model, x, m, mu, logvar, _INIT_SAMPLES, g)
    w = torch.softmax(log_w.double(), 1).float()
    idx = torch.multinomial(w, c, replacement=True, generator=g)
    z0 = torch.gather(z, 1, idx[:, :, None].expand(-1, -1, z.shape[2]))  # [b, c, d]
    z0 = z0.transpose(0, 1).reshape(c * b, -1)
    return z0, model.decode_logits(z0)


def _weighted_draws(model, x, m, mu, logvar, k, g):  # type: ignore[no-untyped-def]
    """k draws z ~ q per image, their decoder logits and log importance weights for x_obs."""
    b = x.shape[0]
    eps = torch.randn((b, k, mu.shape[1]), generator=g, device=x.device)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
    logits = model.decode_logits(z.reshape(-1, z.shape[-1])).view(b, k, -1)
    log_w = (
        model.log_likelihood(x[:, None, :], logits, mask=(~m)[:, None, :])
        + log_standard_normal(z)
        - log_normal(z, mu[:, None], logvar[:, None])
    )
    return logits, z, log_w


def _mwg(model, x, m, x_fill, steps, samples, n_draws, g, init="fill") -> _Part:  # type: ignore[no-untyped-def]
    """Metropolis-within-Gibbs on (z, x_mis) targeting p(z, x_mis | x_obs).

    z-step: independent proposal z' ~ q(z|x) with x = (x_obs, current x_mis), accepted
    with min(1, p(x|z')p(z')q(z|x) / (p(x|z)p(z)q(z'|x))); x-step: x_mis ~ p(x_mis|z).
    """
    b = x.shape[0]
    c = max(samples, n_draws)
    mc = _tile(m, c)
    xc = _tile(x_fill, c)
    if init != "fill":
        z, logits = _start(model, x, m, x_fill, c, g, init)
    else:
        mu, logvar = model.encode(xc)
        z = _sample_z(mu, logvar, g)
        logits = model.decode_logits(z)
    xc = torch.where(mc, _exact_pixels(model, logits, g), xc)
    burn = steps // 2
    acc = torch.zeros_like(xc)
    prob_sum = torch.zeros(xc.shape[0], device=xc.device)
    accepted = torch.zeros_like(prob_sum)
    for t in range(steps):
        mu, logvar = model.encode(xc)
        z_new = _sample_z(mu, logvar, g)
        logits_new = model.decode_logits(z_new)
        log_ratio = (
            model.log_likelihood(xc, logits_new)
            + log_standard_normal(z_new)
            + log_normal(z, mu, logvar)
            - model.log_likelihood(xc, logits)
            - log_standard_normal(z)
            - log_normal(z_new, mu, logvar)
        )
        log_ratio = torch.nan_to_num(log_ratio, nan=-math.inf)
        prob_sum += torch.exp(log_ratio.clamp(max=0.0))
        u = torch.rand(log_ratio.shape, generator=g, device=xc.device)
        take = torch.log(u) < log_ratio
        accepted += take
        z = torch.where(take[:, None], z_new, z)
        logits = torch.where(take[:, None], logits_new, logits)
        if t >= burn:
            acc += torch.sigmoid(logits)
        xc = torch.where(mc, _exact_pixels(model, logits, g), xc)
    acc /= steps - burn
    return _Part(
        acc.view(c, b, -1)[:samples].mean(0),
        torch.sigmoid(logits).view(c, b, -1)[:n_draws],
        acceptance=(prob_sum / steps).view(c, b).mean(0),
        accepted_fraction=(accepted / steps).view(c, b).mean(0),
    )


def _importance(model, x, m, x_fill, steps, samples, n_draws, g) -> _Part:  # type: ignore[no-untyped-def]
    """Self-normalised importance sampling; later rounds re-encode the previous imputation."""
    x_q = x_fill
    for _ in range(steps):
        mu, logvar = model.encode(x_q)
        logits, _, log_w = _weighted_draws(model, x, m, mu, logvar, samples, g)
        w = torch.softmax(log_w.double(), dim=1).to(x.dtype)  # [b, k]
        means = torch.sigmoid(logits)
        mean = torch.einsum("bk,bkp->bp", w, means)
        x_q = torch.where(m, mean, x)
    idx = torch.multinomial(w, n_draws, replacement=True, generator=g)  # [b, M]
    draws = torch.gather(means, 1, idx[:, :, None].expand(-1, -1, means.shape[2]))
    ess = 1.0 / w.double().square().sum(1)
    return _Part(mean, draws.transpose(0, 1), ess=ess.float())


def _assemble(
    parts: list[_Part],
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


# --- evaluation ---------------------------------------------------------------------------
@dataclass
class EvalRow:
    """One row of the imputation table: a method, or a reference (complete / masked)."""

    name: str
    mse: float  # mean squared error per missing pixel (0-1 scale)
    accuracy: float | None  # classifier accuracy on the imputed images
    ms_per_image: float | None  # wall time of the batched imputation, per image
    extra: str = ""  # diagnostics: mwg acceptance, importance ESS


def evaluate_imputations(
    model: VAE,
    images: Any,
    mask: Any,
    methods: tuple[str, ...] | list[str] = METHODS,
    labels: Any = None,
    classifier: Any = None,
    steps: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    fill: str = "zero",
    progress: Any = None,
) -> list[EvalRow]:
    """Missing-pixel MSE, classifier accuracy and time for each method, with reference rows.

    "complete" is the classifier on the original images and "masked" on the images with
    their missing pixels set to the fill (what the model is given). ``classifier`` needs a
    ``predict(images) -> labels`` method; without it accuracies are None.
    """
    import time

    x = as_image_tensor(images)
    m = _as_mask(mask, x.shape[0])
    n_missing = int(m.sum())
    labels_np = None if labels is None else np.asarray(labels).astype(np.int64)

    def accuracy(imgs: torch.Tensor) -> float | None:
        if classifier is None or labels_np is None:
            return None
        return float((np.asarray(classifier.predict(imgs)) == labels_np).mean())

    def mse(imgs: torch.Tensor) -> float:
        return float(((imgs - x)[m].double().square().sum() / max(n_missing, 1)).item())

    fill_vec = _fill_vector(model, fill, model.device).cpu()
    masked = torch.where(m, fill_vec.expand_as(x), x)
    rows = [EvalRow("complete", 0.0, accuracy(x), None), EvalRow("masked", mse(masked),
                                                               accuracy(masked), None)]  # fmt: skip
    for method in methods:
        if progress is not None:
            progress(method)
        start = time.perf_counter()
        res = impute_multiple(model, x, m, method, steps, samples, seed, fill, num_imputations=1)
        seconds = time.perf_counter() - start
        extra = ""
        if res.acceptance is not None:
            extra = f"acceptance {float(res.acceptance.mean()):.3f}"
        elif res.ess is not None:
            extra = f"ESS {float(res.ess.mean()):.1f} of {res.samples}"
        rows.append(
            EvalRow(
                method,
                mse(res.images),
                accuracy(res.images),
                1000 * seconds / max(x.shape[0], 1),
                extra,
            )
        )
    return rows


def format_table(rows: list[EvalRow], reference: str = "single") -> str:
    """The evaluation rows as a fixed-width text table; "vs single" is the relative MSE."""
    base = next((r.mse for r in rows if r.name == reference), None)
    lines = [
        f"{'method':<14}{'MSE (missing)':>14}{'vs ' + reference:>11}{'accuracy':>10}"
        f"{'ms/image':>10}  notes",
        "-" * 72,
    ]
    for r in rows:
        rel = f"{100 * (r.mse / base - 1):+.1f}%" if base and r.name not in ("complete",) else ""
        acc = f"{100 * r.accuracy:.2f}%" if r.accuracy is not None else "-"
        ms = f"{r.ms_per_image:.3f}" if r.ms_per_image is not None else "-"
        lines.append(f"{r.name:<14}{r.mse:>14.5f}{rel:>11}{acc:>10}{ms:>10}  {r.extra}".rstrip())
    return "\n".join(lines)

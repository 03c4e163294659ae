"""The four samplers behind :func:`..api.impute_multiple`, one function each.

Each takes a chunk of images x [b, 784], their mask m (True = missing), the filled images
x_fill, and returns a :class:`Part`: the point estimate and the draws (see api.py).
Importance weights come from core/importance.py, the one definition shared with the
log-likelihood estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..importance import log_weight, weighted_draws
from ..model import GAUSSIAN_VARIANCE, VAE, InputError

INIT_SAMPLES = 100  # importance draws per image used to start the chains (init="importance")


@dataclass
class Part:
    """A chunk's result."""

    mean: torch.Tensor  # [b, 784] estimate of E[x | x_obs] (missing pixels meaningful)
    draws: torch.Tensor  # [M, b, 784] decoder means (or pixel samples) of M draws
    acceptance: torch.Tensor | None = None
    accepted_fraction: torch.Tensor | None = None
    ess: torch.Tensor | None = None


def single(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, steps: int, samples: int,
    n_draws: int, g: torch.Generator,
) -> Part:  # fmt: skip
    """Encode the filled image, decode the posterior mean (the seed article's way)."""
    mu, logvar = model.encode(x_fill)
    mean = model.decode(mu)
    if n_draws == 1:
        return Part(mean, mean.unsqueeze(0))
    z = VAE.reparameterize(mu.expand(n_draws, *mu.shape), logvar.expand(n_draws, *logvar.shape), g)
    draws = model.decode(z.reshape(-1, z.shape[-1])).view(n_draws, *x.shape)
    return Part(mean, draws)


def exact_pixels(model: VAE, logits: torch.Tensor, g: torch.Generator) -> torch.Tensor:
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


def pseudo_gibbs(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, steps: int, samples: int,
    n_draws: int, g: torch.Generator, refill: str = "sample", init: str = "fill",
) -> Part:  # fmt: skip
    """Repeat z ~ q(z|x), x_mis ~ p(x_mis|z) (Rezende, Mohamed & Wierstra 2014)."""
    b = x.shape[0]
    c = max(samples, n_draws)
    mc = _tile(m, c)
    xc = _tile(x_fill, c)
    if init != "fill":
        _, logits = start_states(model, x, m, x_fill, c, g, init)
        new = model.sample_pixels(logits, g) if refill == "sample" else torch.sigmoid(logits)
        xc = torch.where(mc, new, xc)
    burn = steps // 2
    acc = torch.zeros_like(xc)
    mean = xc
    for t in range(steps):
        mu, logvar = model.encode(xc)
        logits = model.decode_logits(VAE.reparameterize(mu, logvar, g))
        mean = torch.sigmoid(logits)
        if t >= burn:
            acc += mean
        new = model.sample_pixels(logits, g) if refill == "sample" else mean
        xc = torch.where(mc, new, xc)
    acc /= steps - burn
    return Part(acc.view(c, b, -1)[:samples].mean(0), mean.view(c, b, -1)[:n_draws])


def start_states(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, c: int, g: torch.Generator,
    init: str,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """First chain states (z, logits): z from p(z) ("prior") or by importance resampling."""
    if init == "prior":
        z0 = torch.randn((c * x.shape[0], model.latent_dim), generator=g, device=x.device)
        return z0, model.decode_logits(z0)
    return sir_init(model, x, m, x_fill, c, g)


def sir_init(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, c: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """c starting states per image by importance resampling from p(z | x_obs); chain-major.

    Starting a chain near its target removes most of the burn-in a cold start from the
    filled image needs (a VAE's Gibbs chain moves in small steps when many pixels are set).
    """
    b = x.shape[0]
    mu, logvar = model.encode(x_fill)
    _, z, log_w = weighted_draws(model, x, mu, logvar, INIT_SAMPLES, g, observed=~m)
    w = torch.softmax(log_w.double(), 1).float()
    idx = torch.multinomial(w, c, replacement=True, generator=g)
    z0 = torch.gather(z, 1, idx[:, :, None].expand(-1, -1, z.shape[2]))  # [b, c, d]
    z0 = z0.transpose(0, 1).reshape(c * b, -1)
    return z0, model.decode_logits(z0)


def mwg(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, steps: int, samples: int,
    n_draws: int, g: torch.Generator, init: str = "fill",
) -> Part:  # fmt: skip
    """Metropolis-within-Gibbs on (z, x_mis) targeting p(z, x_mis | x_obs).

    z-step: independent proposal z' ~ q(z|x) with x = (x_obs, current x_mis), accepted
    with min(1, w(z') / w(z)), w the importance weight p(x|z)p(z)/q(z|x) of the current x;
    x-step: x_mis ~ p(x_mis|z).
    """
    b = x.shape[0]
    c = max(samples, n_draws)
    mc = _tile(m, c)
    xc = _tile(x_fill, c)
    if init != "fill":
        z, logits = start_states(model, x, m, x_fill, c, g, init)
    else:
        mu, logvar = model.encode(xc)
        z = VAE.reparameterize(mu, logvar, g)
        logits = model.decode_logits(z)
    xc = torch.where(mc, exact_pixels(model, logits, g), xc)
    burn = steps // 2
    acc = torch.zeros_like(xc)
    prob_sum = torch.zeros(xc.shape[0], device=xc.device)
    accepted = torch.zeros_like(prob_sum)
    for t in range(steps):
        mu, logvar = model.encode(xc)
        z_new = VAE.reparameterize(mu, logvar, g)
        logits_new = model.decode_logits(z_new)
        log_ratio = log_weight(model.log_likelihood(xc, logits_new), z_new, mu, logvar) - log_weight(
            model.log_likelihood(xc, logits), z, mu, logvar
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
        xc = torch.where(mc, exact_pixels(model, logits, g), xc)
    acc /= steps - burn
    return Part(
        acc.view(c, b, -1)[:samples].mean(0),
        torch.sigmoid(logits).view(c, b, -1)[:n_draws],
        acceptance=(prob_sum / steps).view(c, b).mean(0),
        accepted_fraction=(accepted / steps).view(c, b).mean(0),
    )


def importance(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, steps: int, samples: int,
    n_draws: int, g: torch.Generator, max_rows: int | None = None,
) -> Part:  # fmt: skip
    """Self-normalised importance sampling; later rounds re-encode the previous imputation.

    With more than ``max_rows`` draws in all (images x samples) the draws are taken in
    chunks (:func:`_importance_chunked`), so memory stays bounded for any ``samples``.
    """
    if max_rows is not None and x.shape[0] * samples > max_rows:
        return _importance_chunked(model, x, m, x_fill, steps, samples, n_draws, g, max_rows)
    x_q = x_fill
    mean = x_fill
    for _ in range(steps):
        mu, logvar = model.encode(x_q)
        logits, _, log_w = weighted_draws(model, x, mu, logvar, samples, g, observed=~m)
        w = torch.softmax(log_w.double(), dim=1).to(x.dtype)  # [b, k]
        means = torch.sigmoid(logits)
        mean = torch.einsum("bk,bkp->bp", w, means)
        x_q = torch.where(m, mean, x)
    _require_finite_weights(w)
    idx = torch.multinomial(w, n_draws, replacement=True, generator=g)  # [b, M]
    draws = torch.gather(means, 1, idx[:, :, None].expand(-1, -1, means.shape[2]))
    ess = 1.0 / w.double().square().sum(1)
    return Part(mean, draws.transpose(0, 1), ess=ess.float())


def _require_finite_weights(w: torch.Tensor) -> None:
    """Importance weights with inf or NaN (a model whose finite weights overflow): an input
    error saying so, where torch's multinomial would fail with "invalid distribution"."""
    if not bool(torch.isfinite(w).all()):
        raise InputError(
            "the model gives non-finite values (inf or NaN) for these images, so no importance "
            "weights can be formed: its weights may be damaged"
        )


def _importance_chunked(
    model: VAE, x: torch.Tensor, m: torch.Tensor, x_fill: torch.Tensor, steps: int, samples: int,
    n_draws: int, g: torch.Generator, max_rows: int,
) -> Part:  # fmt: skip
    """:func:`importance` over chunks of draws, with running (log-space) weight totals.

    The weighted mean is rescaled as each chunk raises the total; each of the ``n_draws``
    resampled draws is kept or replaced by a draw from the new chunk with probability
    chunk weight / total weight (a one-item weighted reservoir), which is exactly
    resampling from all the draws at once without holding them.
    """
    b, pixels = x.shape
    per_chunk = max(1, max_rows // b)
    x_q = x_fill
    mean = x_fill
    draws = torch.zeros((n_draws, b, pixels), dtype=x.dtype, device=x.device)
    log_total = log_square = torch.full((b,), -math.inf, dtype=torch.float64, device=x.device)
    for step in range(steps):
        last = step == steps - 1
        mu, logvar = model.encode(x_q)
        log_total = torch.full((b,), -math.inf, dtype=torch.float64, device=x.device)
        log_square = log_total.clone()
        weighted = torch.zeros((b, pixels), dtype=torch.float64, device=x.device)
        for start in range(0, samples, per_chunk):
            k = min(per_chunk, samples - start)
            logits, _, log_w = weighted_draws(model, x, mu, logvar, k, g, observed=~m)
            lw = log_w.double()
            means = torch.sigmoid(logits)
            chunk_total = torch.logsumexp(lw, 1)
            new_total = torch.logaddexp(log_total, chunk_total)
            keep = torch.exp(log_total - new_total).nan_to_num(0.0)
            rel = torch.exp(lw - new_total[:, None]).nan_to_num(0.0)
            weighted = (
                weighted * keep[:, None] + torch.einsum("bk,bkp->bp", rel.to(means.dtype), means).double()
            )
            log_square = torch.logaddexp(log_square, torch.logsumexp(2 * lw, 1))
            if last:
                replace = torch.rand((n_draws, b), generator=g, device=x.device) < (1 - keep)[None].to(
                    x.dtype
                )
                w = torch.softmax(lw, 1).to(x.dtype)
                _require_finite_weights(w)
                idx = torch.multinomial(w, n_draws, replacement=True, generator=g)  # [b, M]
                picked = torch.gather(means, 1, idx[:, :, None].expand(-1, -1, pixels)).transpose(0, 1)
                draws = torch.where(replace[:, :, None], picked, draws)
            log_total = new_total
        mean = weighted.to(x.dtype)
        x_q = torch.where(m, mean, x)
    ess = torch.exp(2 * log_total - log_square)
    return Part(mean, draws, ess=ess.float())

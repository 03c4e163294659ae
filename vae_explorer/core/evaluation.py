"""Test-set metrics: the ELBO and the importance-weighted log-likelihood estimate."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .importance import Workspace, log_weights
from .model import VAE, as_image_tensor, kl_divergence

# Rows of decoder output held at once by the importance-weighted estimate: ~12 MB of logits,
# small enough that the allocator reuses its buffers instead of mapping fresh pages each time.
_IWAE_ROWS_PER_CHUNK = 4000


@torch.inference_mode()
def evaluate(
    model: VAE,
    images: Any,
    iwae_samples: int = 0,
    batch_size: int = 10_000,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Mean per-image metrics in nats.

    "elbo" (one reparameterised sample per image, higher is better), "recon" (reconstruction
    negative log-likelihood), "kl"; with ``iwae_samples=K`` also "log_likelihood", the
    K-sample importance-weighted estimate of log p(x) (Burda et al. 2016), a tighter bound.
    ``progress(images_done)`` is called as the work goes (a CLI progress bar); memory stays
    bounded for any K (the weights are summed in chunks).
    """
    if isinstance(iwae_samples, bool) or not isinstance(iwae_samples, (int, np.integer)) or iwae_samples < 0:
        raise ValueError(f"iwae_samples must be a whole number >= 0, got {iwae_samples!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    was_training = model.training
    model.eval()
    device = model.device
    x_all = as_image_tensor(images)
    n = x_all.shape[0]
    if n == 0:
        raise ValueError("cannot evaluate on an empty set of images")
    generator = torch.Generator(device=device).manual_seed(seed)
    recon_sum = kl_sum = ll_sum = 0.0
    for start in range(0, n, batch_size):
        x = x_all[start : start + batch_size].to(device)
        mu, logvar = model.encode(x)
        z = model.reparameterize(mu, logvar, generator)
        # Sums are widened on the CPU: Apple's MPS has no float64.
        recon_sum += float(-model.log_likelihood(x, model.decode_logits(z)).cpu().double().sum())
        kl_sum += float(kl_divergence(mu, logvar).cpu().double().sum())
        if iwae_samples:
            step = None if progress is None else _offset(progress, start)
            ll_sum += float(_iwae_log_likelihood(model, x, mu, logvar, iwae_samples, generator, step).sum())
        if progress is not None:
            progress(start + x.shape[0])
    model.train(was_training)
    result = {"elbo": -(recon_sum + kl_sum) / n, "recon": recon_sum / n, "kl": kl_sum / n}
    if iwae_samples:
        result["log_likelihood"] = ll_sum / n
    return result


def _offset(progress: Callable[[int], None], base: int) -> Callable[[int], None]:
    """``progress`` for a batch that starts at image ``base``."""
    return lambda images: progress(base + images)


def _iwae_log_likelihood(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    generator: torch.Generator,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x); [B] float64.

    The log-sum-exp runs over chunks of draws (a running total), so no more than one
    chunk of weights is held whatever K is.
    """
    images_per_chunk = max(1, _IWAE_ROWS_PER_CHUNK // k)
    samples_per_chunk = min(k, _IWAE_ROWS_PER_CHUNK)
    workspace = Workspace()
    out = []
    for start in range(0, x.shape[0], images_per_chunk):
        xb, mub, lvb = (t[start : start + images_per_chunk] for t in (x, mu, logvar))
        total = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64)
        for s0 in range(0, k, samples_per_chunk):
            s = min(samples_per_chunk, k - s0)
            log_w = log_weights(model, xb, mub, lvb, s, generator, workspace)  # [b, s]
            total = torch.logaddexp(total, torch.logsumexp(log_w.cpu().double(), dim=1))
        out.append(total - math.log(k))
        if progress is not None:
            progress(start + xb.shape[0])
    return torch.cat(out)

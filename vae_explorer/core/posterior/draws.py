"""Importance sampling for one image: weighted draws from q and the K-sample IWAE bound."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..importance import log_weights, weighted_draws
from ..model import VAE
from .checks import PosteriorError, one_image
from .threads import one_thread

IWAE_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
POOL_PER_K = 4  # the pool holds this many times the largest K draws ...
SHUFFLES = 10  # ... and is split into disjoint groups of K this many times (random orders)


def _encode(model: VAE, image: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = one_image(image).to(model.device)
    with torch.inference_mode():
        mu, logvar = model.encode(x)
    return x, mu, logvar


@one_thread()
@torch.inference_mode()
def importance_draws(model: VAE, image: Any, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k draws z ~ q(z|x) [k, latent_dim] and their normalised importance weights [k] (sum 1):
    w ∝ p(x|z) p(z) / q(z|x), the weights the IWAE bound averages."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 1_000_000:
        raise PosteriorError(f"k must be a whole number from 1 to 1,000,000, got {k!r}")
    x, mu, logvar = _encode(model, image)
    generator = torch.Generator(device=mu.device).manual_seed(seed)
    _, z, log_w = weighted_draws(model, x, mu, logvar, int(k), generator)
    weights = torch.softmax(log_w[0].double(), dim=0)
    return z[0].cpu().double().numpy(), weights.cpu().numpy()


@one_thread()
@torch.inference_mode()
def iwae_curve(
    model: VAE, image: Any, ks: Sequence[int] = IWAE_KS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The K-sample IWAE bound E[log (1/K) sum_k w_k] of one image for each K in ``ks``: (ks
    [n] int, bounds [n] nats). One pool of 4 * max(K) log weights is split into disjoint
    groups of K in 10 random orders and all those groups' bounds are averaged: each group is
    a K-sample from q, so every K gets an unbiased estimate with many groups from one set of
    decodes (40 groups for the largest K; 4,000 decodes for K up to 1000).
    The bound rises towards log p(x) as K grows (Burda et al. 2016)."""
    ks_arr = np.asarray(list(ks), dtype=np.int64)
    if ks_arr.ndim != 1 or ks_arr.size == 0 or (ks_arr < 1).any() or ks_arr.max() > 100_000:
        raise PosteriorError(f"ks must be whole numbers from 1 to 100,000, got {list(ks)!r}")
    x, mu, logvar = _encode(model, image)
    generator = torch.Generator(device=mu.device).manual_seed(seed)
    pool_size = POOL_PER_K * int(ks_arr.max())
    parts = []
    for start in range(0, pool_size, 4000):
        parts.append(
            log_weights(model, x, mu, logvar, min(4000, pool_size - start), generator)[0].double().cpu()
        )
    pool = torch.cat(parts)
    cpu = torch.Generator().manual_seed(seed)
    orders = torch.stack([torch.randperm(pool_size, generator=cpu) for _ in range(SHUFFLES)])
    shuffled = pool[orders]  # [SHUFFLES, pool]
    bounds = []
    for k in ks_arr:
        groups = shuffled[:, : (pool_size // k) * k].reshape(-1, int(k))
        bounds.append(float((torch.logsumexp(groups, dim=1) - math.log(k)).mean()))
    return ks_arr, np.asarray(bounds)

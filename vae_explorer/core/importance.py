"""Draws from the encoder's q(z|x) and their log importance weights.

    log w(z) = log p(x|z) + log p(z) - log q(z|x),    z ~ q(z|x)

The one definition behind the importance-weighted log-likelihood (evaluation.py, Burda et
al. 2016), the "importance" imputation and the importance-resampled chain starts
(imputation/), where p(x|z) counts the observed pixels only, and the Metropolis-Hastings
ratio of the "mwg" sampler (a difference of two such weights).
"""

from __future__ import annotations

import torch

from .activations import tanh_
from .model import (
    _GAUSSIAN_LOG_NORMALISER,
    GAUSSIAN_VARIANCE,
    VAE,
    log_normal,
    log_standard_normal,
)


def sample_q(mu: torch.Tensor, logvar: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k draws z ~ q(z|x) = N(mu, exp(logvar)) per row of mu [b, d]; shape [b, k, d]."""
    eps = torch.randn((mu.shape[0], k, mu.shape[1]), generator=generator, device=mu.device)
    return mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps


def log_weight(log_px: torch.Tensor, z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) - log q(z|x), given log p(x|z); mu, logvar broadcast against z."""
    return log_px + log_standard_normal(z) - log_normal(z, mu, logvar)


def weighted_draws(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    generator: torch.Generator,
    observed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """k draws z ~ q per image with their decoder logits and log weights.

    ``x`` [b, D]; ``observed`` bool [b, D] limits p(x|z) to those pixels (None: all).
    Returns logits [b, k, D], z [b, k, d] and log w [b, k].
    """
    b = x.shape[0]
    z = sample_q(mu, logvar, k, generator)
    logits = model.decode_logits(z.reshape(-1, z.shape[-1])).view(b, k, -1)
    mask = None if observed is None else observed[:, None, :]
    log_px = model.log_likelihood(x[:, None, :], logits, mask=mask)
    return logits, z, log_weight(log_px, z, mu[:, None], logvar[:, None])


def log_weights(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    generator: torch.Generator,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """log w [b, k] of k draws z ~ q per image, over all pixels, without keeping the decoder
    output (the memory-frugal path the log-likelihood estimate uses)."""
    z = sample_q(mu, logvar, k, generator)
    return log_weight(log_px_of_samples(model, x, z, workspace), z, mu[:, None], logvar[:, None])


class Workspace:
    """Reusable decoder-output buffers: fresh 10 MB tensors per chunk cost page faults and,
    with glibc's allocator, let the process's memory grow with the number of chunks."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < rows or buf.shape[1] != cols or buf.device != like.device:
            buf = torch.empty((rows, cols), dtype=like.dtype, device=like.device)
            self._buffers[name] = buf
        return buf[:rows]


def decoder_features(model: VAE, z: torch.Tensor, workspace: Workspace) -> torch.Tensor:
    """The MLP decoder's last hidden activations [rows, hidden] for latents z [rows, d];
    the classic one-tanh-layer decoder writes them into the workspace's buffer."""
    if not model.config.is_classic_mlp:
        return model.decode_hidden(z)
    hidden = model.dec_hidden
    h = workspace.get("hidden", z.shape[0], hidden.out_features, z)
    return tanh_(torch.addmm(hidden.bias, z, hidden.weight.t(), beta=2, alpha=2, out=h))


@torch.no_grad()
def log_px_of_samples(
    model: VAE, x: torch.Tensor, z: torch.Tensor, workspace: Workspace | None = None
) -> torch.Tensor:
    """log p(x_b | z_bs) for images x [b, D] and latents z [b, s, d]; [b, s].

    For the MLP decoder the terms that pair x with the output layer are regrouped so they
    cost a product with the 256-d hidden layer instead of a pass over 784 pixels per
    sample: x.l = x.(h W^T + c) = h.(x W) + x.c. Only the terms that are nonlinear in the
    logits (softplus, or the squared sigmoid) still touch every pixel of every sample.
    """
    b, s, d = z.shape
    if model.config.arch != "mlp":
        logits = model.decode_logits(z.reshape(-1, d)).view(b, s, -1)
        return model.log_likelihood(x[:, None, :], logits)
    workspace = workspace or Workspace()
    out_layer = model.dec_out
    rows = b * s
    h = decoder_features(model, z.reshape(-1, d), workspace)
    logits = workspace.get("logits", rows, out_layer.out_features, z)
    torch.addmm(out_layer.bias, h, out_layer.weight.t(), out=logits)
    if model.config.likelihood == "bernoulli":
        x_dot_logits = torch.bmm(h.view(b, s, -1), (x @ out_layer.weight)[:, :, None]).squeeze(-1)
        x_dot_logits += (x @ out_layer.bias)[:, None]
        softplus = workspace.get("softplus", rows, out_layer.out_features, z)
        torch.ops.aten.softplus.out(logits, 1, 20, out=softplus)
        return x_dot_logits - softplus.sum(-1).view(b, s)
    mean = logits.sigmoid_()
    x_dot_mean = torch.bmm(mean.view(b, s, -1), x[:, :, None]).squeeze(-1)
    sq = x.square().sum(-1)[:, None] - 2 * x_dot_mean + mean.square().sum(-1).view(b, s)
    return -sq / (2 * GAUSSIAN_VARIANCE) - _GAUSSIAN_LOG_NORMALISER

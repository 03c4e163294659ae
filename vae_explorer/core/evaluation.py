"""Test-set metrics: the ELBO and the importance-weighted log-likelihood estimate."""

from __future__ import annotations

import math
from typing import Any

import torch

from .model import (
    _GAUSSIAN_LOG_NORMALISER,
    GAUSSIAN_VARIANCE,
    VAE,
    as_image_tensor,
    kl_divergence,
    log_normal,
    log_standard_normal,
)

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
) -> dict[str, float]:
    """Mean per-image metrics in nats.

    "elbo" (one reparameterised sample per image, higher is better), "recon" (reconstruction
    negative log-likelihood), "kl"; with ``iwae_samples=K`` also "log_likelihood", the
    K-sample importance-weighted estimate of log p(x) (Burda et al. 2016), a tighter bound.
    """
    if iwae_samples < 0:
        raise ValueError(f"iwae_samples must be >= 0, got {iwae_samples}")
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
            ll_sum += float(_iwae_log_likelihood(model, x, mu, logvar, iwae_samples, generator).sum())
    model.train(was_training)
    result = {"elbo": -(recon_sum + kl_sum) / n, "recon": recon_sum / n, "kl": kl_sum / n}
    if iwae_samples:
        result["log_likelihood"] = ll_sum / n
    return result


def _iwae_log_likelihood(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x); [B] float64."""
    images_per_chunk = max(1, _IWAE_ROWS_PER_CHUNK // k)
    samples_per_chunk = min(k, _IWAE_ROWS_PER_CHUNK)
    workspace = _Workspace()
    out = []
    for start in range(0, x.shape[0], images_per_chunk):
        xb, mub, lvb = (t[start : start + images_per_chunk] for t in (x, mu, logvar))
        log_w_parts = []
        for s0 in range(0, k, samples_per_chunk):
            s = min(samples_per_chunk, k - s0)
            eps = torch.randn((xb.shape[0], s, mub.shape[1]), generator=generator, device=x.device)
            z = mub[:, None] + torch.exp(0.5 * lvb)[:, None] * eps  # [b, s, d]
            log_px = _log_px_of_samples(model, xb, z, workspace)
            log_w = log_px + log_standard_normal(z) - log_normal(z, mub[:, None], lvb[:, None])
            log_w_parts.append(log_w.cpu().double())
        log_w_all = torch.cat(log_w_parts, dim=1)
        out.append(torch.logsumexp(log_w_all, dim=1) - math.log(k))
    return torch.cat(out)


class _Workspace:
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


@torch.no_grad()
def _log_px_of_samples(
    model: VAE, x: torch.Tensor, z: torch.Tensor, workspace: _Workspace | None = None
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
    workspace = workspace or _Workspace()
    hidden, out_layer = model.dec_hidden, model.dec_out
    rows = b * s
    h = workspace.get("hidden", rows, hidden.out_features, z)
    torch.addmm(hidden.bias, z.reshape(-1, d), hidden.weight.t(), out=h).tanh_()
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

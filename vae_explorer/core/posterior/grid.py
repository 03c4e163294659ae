"""The log joint log p(x|z) + log p(z) on 2-d grids.

Two steps make the exact posterior cheap: find the box that holds the posterior's mass
(coarse passes that widen or zoom until the border is negligible; the first pass covers the
encoder's q and the prior's bulk, so a narrow mode far from q is not missed), then run the
decoder at Chebyshev points of that box only and interpolate the (smooth) log joint
spectrally to any finer grid (refine.py, tiles.py). A 201 x 201 grid decoded point by point
is 40k decodes (16 GFLOP, more than this project's 2-core CPU does in 100 ms); 17 x 17
Chebyshev points reproduce it to well under 0.01 nats for many images, and the interpolant's
last coefficients say when they would not (then the box is cut into tiles where the mass is).
"""

from __future__ import annotations

import torch

from ..importance import Workspace, decoder_features, log_px_of_samples
from ..model import _GAUSSIAN_LOG_NORMALISER, GAUSSIAN_VARIANCE, VAE, log_standard_normal
from .checks import PosteriorError

COARSE = 13  # points per axis of a box-finding pass
SIGNIFICANT = 18.0  # nats below the maximum: points above it carry the mass (e^-18 ~ 1.5e-8)
START_SIGMAS = 8.0  # the first box: the encoder's mean +- this many of its sigmas
MIN_HALF_WIDTH = 0.01  # ... but never narrower than this (a collapsed encoder sigma)
PRIOR_HALF_WIDTH = 3.0  # ... and covering at least [-3, 3]^2 (a far, narrow mode of the posterior)
MAX_ROUNDS = 14
STABLE_ZOOM = 0.5  # a pass is final when its next box keeps at least this share of each width
_ROWS_PER_CHUNK = 8192  # decoder rows at once: ~25 MB of logits


def _standard_decoder(model: VAE) -> bool:
    """True when the fused MLP path of importance.log_px_of_samples gives the model's own
    likelihood (a subclass that overrides decoding or the likelihood takes the plain path)."""
    cls = type(model)
    return (
        getattr(model.config, "arch", None) == "mlp"
        and isinstance(model, VAE)
        and cls.decode_logits is VAE.decode_logits
        and cls.log_likelihood is VAE.log_likelihood
    )


@torch.inference_mode()
def log_likelihood_at(
    model: VAE, x: torch.Tensor, z: torch.Tensor, workspace: Workspace | None = None
) -> torch.Tensor:
    """log p(x_b | z_bs) for images x [b, 784] and latents z [b, s, 2]: float32 [b, s], in chunks."""
    b, s, d = z.shape
    z = z.to(torch.float32)
    fast = _standard_decoder(model)
    workspace = workspace or Workspace()
    out = torch.empty((b, s), dtype=torch.float32)
    per_image = max(1, _ROWS_PER_CHUNK // max(s, 1))
    step_s = min(s, _ROWS_PER_CHUNK)
    for i0 in range(0, b, per_image):
        xb = x[i0 : i0 + per_image]
        for s0 in range(0, s, step_s):
            zb = z[i0 : i0 + per_image, s0 : s0 + step_s]
            if fast and model.config.likelihood == "gaussian":
                part = _gaussian_log_likelihood(model, xb, zb, workspace)
            elif fast:
                part = log_px_of_samples(model, xb, zb, workspace)
            else:
                logits = model.decode_logits(zb.reshape(-1, d)).view(zb.shape[0], zb.shape[1], -1)
                part = model.log_likelihood(xb[:, None, :], logits)
            out[i0 : i0 + per_image, s0 : s0 + step_s] = part
    if not bool(torch.isfinite(out).all()):
        raise PosteriorError("the model's decoder gives non-finite values (are its weights finite?)")
    return out


def _gaussian_log_likelihood(
    model: VAE, x: torch.Tensor, z: torch.Tensor, workspace: Workspace
) -> torch.Tensor:
    """log N(x_b; sigmoid(logits(z_bs)), 1/2 I) [b, s] of the MLP decoder in three passes over
    the pixels and no temporaries: sigmoid and x subtracted in place, then the row norms
    (~17% faster than importance.log_px_of_samples' four passes with a squared copy)."""
    b, s, d = z.shape
    out_layer = model.dec_out
    h = decoder_features(model, z.reshape(-1, d), workspace)
    mean = workspace.get("logits", b * s, out_layer.out_features, z)
    torch.addmm(out_layer.bias, h, out_layer.weight.t(), out=mean).sigmoid_()
    mean.view(b, s, -1).sub_(x[:, None, :])
    sq = torch.linalg.vector_norm(mean, dim=-1).square_().view(b, s)
    return -sq / (2 * GAUSSIAN_VARIANCE) - _GAUSSIAN_LOG_NORMALISER


def log_joint(
    model: VAE, x: torch.Tensor, z: torch.Tensor, workspace: Workspace | None = None
) -> torch.Tensor:
    """log p(x|z) + log p(z) for images x [b, 784] and latents z [b, s, 2]; float64 [b, s]."""
    lik = log_likelihood_at(model, x, z, workspace).double()
    return lik + log_standard_normal(z.double())


def grid_points(axes0: torch.Tensor, axes1: torch.Tensor) -> torch.Tensor:
    """Points [b, n1 * n0, 2] of per-image axes [b, n0], [b, n1]; row-major with rows = dim 1,
    so values reshaped to [b, n1, n0] have value[i, j] at (axes0[j], axes1[i])."""
    b, n0 = axes0.shape
    n1 = axes1.shape[1]
    z0 = axes0[:, None, :].expand(b, n1, n0)
    z1 = axes1[:, :, None].expand(b, n1, n0)
    return torch.stack([z0, z1], dim=-1).reshape(b, n1 * n0, 2)


def _next_box(box: torch.Tensor, sig: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From the significant points sig [b, c, c] of a pass over box [b, 2, 2] (dim, lo/hi): the
    next box (widened on sides where mass touches the border, else the significant bounding
    box plus one cell) and whether it is final (nothing touched, no big zoom left to do)."""
    c = sig.shape[-1]
    new = box.clone()
    stable = torch.ones(box.shape[0], dtype=torch.bool)
    for d, along in ((0, 1), (1, 2)):
        mask = sig.any(dim=along)  # [b, c] over this dim's points
        first = mask.to(torch.int64).argmax(dim=1)
        last = c - 1 - mask.flip(1).to(torch.int64).argmax(dim=1)
        lo, hi = box[:, d, 0], box[:, d, 1]
        width = hi - lo
        cell = width / (c - 1)
        touch_lo, touch_hi = first == 0, last == c - 1
        new_lo = torch.where(touch_lo, lo - width, lo + (first - 1) * cell)
        new_hi = torch.where(touch_hi, hi + width, lo + (last + 1) * cell)
        new[:, d, 0], new[:, d, 1] = new_lo, new_hi
        stable &= ~touch_lo & ~touch_hi & (new_hi - new_lo >= STABLE_ZOOM * width)
    return new, stable


def find_boxes(
    model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, workspace: Workspace | None = None
) -> torch.Tensor:
    """Per image, the box [b, 2, 2] (dim, lo/hi) outside which the posterior is negligible.

    Starts at the encoder's mean +- 8 sigmas, widened to cover at least [-3, 3]^2 (where the
    prior has its mass: q can sit on a broad bump beside a far, narrow mode that holds
    nearly all the mass); each pass decodes a 13 x 13 grid, widens the box where points
    within 18 nats of the maximum touch its border, or zooms in on them.
    """
    sd = torch.exp(0.5 * logvar.double())
    half = torch.clamp(START_SIGMAS * sd, min=MIN_HALF_WIDTH)
    box = torch.stack([mu.double() - half, mu.double() + half], dim=-1)
    if PRIOR_HALF_WIDTH > 0:
        box[..., 0].clamp_(max=-PRIOR_HALF_WIDTH)
        box[..., 1].clamp_(min=PRIOR_HALF_WIDTH)
    done = torch.zeros(x.shape[0], dtype=torch.bool)
    t = torch.linspace(0.0, 1.0, COARSE, dtype=torch.float64)
    for _ in range(MAX_ROUNDS):
        idx = (~done).nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        bx = box[idx]
        axes = bx[..., :1] + (bx[..., 1:] - bx[..., :1]) * t  # [k, 2, c]
        f = log_joint(model, x[idx], grid_points(axes[:, 0], axes[:, 1]), workspace).view(-1, COARSE, COARSE)
        sig = f >= f.amax(dim=(1, 2), keepdim=True) - SIGNIFICANT
        box[idx], done[idx] = _next_box(bx, sig)
    return box


def log_cell_area(box: torch.Tensor, grid: int) -> torch.Tensor:
    """log(dz0 * dz1) of a uniform grid x grid over each box [b, 2, 2]; float64 [b]."""
    width = (box[..., 1] - box[..., 0]).double()
    return torch.log(width / (grid - 1)).sum(-1)


def uniform_axes(box: torch.Tensor, grid: int) -> torch.Tensor:
    """Axes [b, 2, grid] of the uniform grid over each box."""
    t = torch.linspace(0.0, 1.0, grid, dtype=torch.float64)
    return box[..., :1].double() + (box[..., 1:] - box[..., :1]).double() * t

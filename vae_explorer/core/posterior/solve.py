"""The exact 2-d posterior and the gap split for a batch of images (shared by
exact_posterior and image_gaps)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..importance import Workspace
from ..model import VAE
from .gaussian import GH_POINTS, best_gaussian, gaussian_elbo
from .grid import find_boxes, log_cell_area, uniform_axes
from .lattice import Lattice
from .refine import chebyshev_log_joint

FIT_ON_GRID_FROM = 16  # grids this fine or finer carry the q* fit (lattice.py)


@dataclass
class BatchSolution:
    """Per-image results for a batch of b images (numpy, float64)."""

    box: np.ndarray  # [b, 2, 2]: (dim, lo/hi)
    log_joint: np.ndarray | None  # [b, G, G] on the uniform grid (rows = dim 1), when kept
    log_px: np.ndarray  # [b]
    mean: np.ndarray  # [b, 2]
    cov: np.ndarray  # [b, 2, 2]
    q_mu: np.ndarray  # [b, 2]
    q_logvar: np.ndarray  # [b, 2]
    elbo: np.ndarray  # [b]: ELBO of the encoder's q
    qstar_mean: np.ndarray  # [b, 2]
    qstar_chol: np.ndarray  # [b, 2, 2]
    elbo_qstar: np.ndarray  # [b]
    border_mass: np.ndarray  # [b]: posterior mass on the grid's outer ring
    interpolation_error: np.ndarray  # [b]: Chebyshev tail estimate, nats
    nodes: np.ndarray  # [b]: Chebyshev points per axis used


def solve_batch(
    model: VAE,
    x: torch.Tensor,
    grid: int,
    nodes: int,
    keep_grid: bool = False,
    gh_points: int = GH_POINTS,
    decode_elbo: bool = True,
) -> BatchSolution:
    """Box, Chebyshev log joint, quadrature on a uniform grid x grid, q* fit and both ELBOs.

    ``decode_elbo``: decode every Gauss-Hermite point of the ELBOs (else the points inside the
    box take the log-joint interpolant; only those outside are decoded)."""
    was_training = model.training
    model.eval()
    try:
        return _solve(model, x, grid, nodes, keep_grid, gh_points, decode_elbo)
    finally:
        model.train(was_training)


def _moments(f_grid: np.ndarray, box_t: torch.Tensor, grid: int) -> tuple[np.ndarray, ...]:
    """log p(x), posterior mean [b, 2], covariance [b, 2, 2] and the mass on the grid's outer
    ring from the log joint on the uniform grid (torch: threaded, no numpy temporaries)."""
    f = torch.from_numpy(f_grid)
    axes = uniform_axes(box_t, grid)  # [b, 2, G]
    top = f.amax(dim=(1, 2), keepdim=True)
    p = torch.exp(f - top)
    total = p.sum(dim=(1, 2))
    log_px = torch.log(total) + top[:, 0, 0] + log_cell_area(box_t, grid)
    p /= total[:, None, None]
    interior = p[:, 1:-1, 1:-1].sum(dim=(1, 2))
    p0, p1 = p.sum(1), p.sum(2)  # marginals over dim 0 (columns) and dim 1 (rows)
    m0, m1 = (p0 * axes[:, 0]).sum(-1), (p1 * axes[:, 1]).sum(-1)
    d0, d1 = axes[:, 0] - m0[:, None], axes[:, 1] - m1[:, None]
    c00, c11 = (p0 * d0 * d0).sum(-1), (p1 * d1 * d1).sum(-1)
    c01 = torch.einsum("bij,bi,bj->b", p, d1, d0)
    mean = torch.stack([m0, m1], -1)
    cov = torch.stack([torch.stack([c00, c01], -1), torch.stack([c01, c11], -1)], -2)
    return log_px.numpy(), mean.numpy(), cov.numpy(), (1.0 - interior).numpy()


def _solve(
    model: VAE,
    x: torch.Tensor,
    grid: int,
    nodes: int,
    keep_grid: bool,
    gh_points: int,
    decode_elbo: bool,
) -> BatchSolution:
    workspace = Workspace()
    x = x.to(model.device)
    with torch.inference_mode():
        mu_t, logvar_t = model.encode(x)
    mu_t, logvar_t = mu_t.double().cpu(), logvar_t.double().cpu()
    if not bool(torch.isfinite(mu_t).all() and torch.isfinite(logvar_t).all()):
        from .checks import PosteriorError

        raise PosteriorError("the model's encoder gives non-finite values (are its weights finite?)")
    box_t = find_boxes(model, x, mu_t, logvar_t, workspace)
    joint = chebyshev_log_joint(model, x, box_t, nodes, workspace, display=keep_grid)
    f_grid = joint.uniform(grid)  # [b, G, G], rows = dim 1
    log_px, mean, cov, border = _moments(f_grid, box_t, grid)

    # q*: natural-gradient steps on the log joint (no decodes); see gaussian.best_gaussian.
    q_mu, q_logvar = mu_t.numpy(), logvar_t.numpy()
    sd = np.exp(0.5 * q_logvar)
    # The steps run on the uniform grid (cheap), the last few on the interpolant (accurate).
    if grid >= FIT_ON_GRID_FROM:
        fit_mean, fit_chol = best_gaussian(Lattice(joint.box, f_grid), mean, cov, q_mu, sd, polish=joint)
    else:
        fit_mean, fit_chol = best_gaussian(joint, mean, cov, q_mu, sd)

    # Both ELBOs by the same Gauss-Hermite rule; q* is the better of the fit and the encoder.
    enc_chol = np.zeros_like(cov)
    enc_chol[:, 0, 0], enc_chol[:, 1, 1] = sd[:, 0], sd[:, 1]
    via = None if decode_elbo else joint
    elbo = gaussian_elbo(model, x, q_mu, enc_chol, gh_points, workspace, via)
    elbo_fit = gaussian_elbo(model, x, fit_mean, fit_chol, gh_points, workspace, via)
    use_fit = elbo_fit >= elbo
    return BatchSolution(
        box=joint.box,
        log_joint=f_grid if keep_grid else None,
        log_px=log_px,
        mean=mean,
        cov=cov,
        q_mu=q_mu,
        q_logvar=q_logvar,
        elbo=elbo,
        qstar_mean=np.where(use_fit[:, None], fit_mean, q_mu),
        qstar_chol=np.where(use_fit[:, None, None], fit_chol, enc_chol),
        elbo_qstar=np.maximum(elbo_fit, elbo),
        border_mass=border,
        interpolation_error=joint.tails,
        nodes=joint.nodes,
    )

"""exact_posterior: the true posterior p(z|x) of one image on a grid, beside the encoder's q."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import VAE
from .checks import PosteriorError, check_model, one_image
from .solve import solve_batch
from .threads import one_thread

DEFAULT_GRID = 201
DEFAULT_NODES = 17  # nested refinement 17 -> 33 -> 65 where the interpolant is not resolved
MODE_RANGE = float(np.log(1000.0))  # modes: local maxima within a factor 1000 of the highest


@dataclass(frozen=True)
class Posterior:
    """The exact posterior of one image and the gap split (Cremer et al. 2018), in nats.

    ``log_density[i, j]`` is the normalised log posterior density at
    ``z = (z_axes[0][j], z_axes[1][i])``: rows follow the SECOND latent dim, columns the first
    (image convention: ``log_density`` displays as a picture with z0 across, z1 up the rows).
    ``logsumexp(log_density) + log(cell_area) == 0``.

    total_gap = log_px - elbo = KL(q || posterior) >= 0, split into
    approximation_gap = log_px - elbo_qstar (the best Gaussian q* is still not the posterior)
    and amortisation_gap = elbo_qstar - elbo (the encoder's q is not the best Gaussian).
    """

    log_px: float  # log p(x) by quadrature
    elbo: float  # ELBO of the encoder's q(z|x)
    total_gap: float
    approximation_gap: float
    amortisation_gap: float
    kl_q_posterior: float  # KL(q || p(z|x)) = log_px - elbo (= total_gap)
    elbo_qstar: float  # ELBO of q*
    mean: np.ndarray  # [2] posterior mean
    cov: np.ndarray  # [2, 2] posterior covariance
    log_density: np.ndarray  # [G, G], rows = dim 1 (see above)
    z_axes: tuple[np.ndarray, np.ndarray]  # grid coordinates of dim 0 (columns) and dim 1 (rows)
    cell_area: float
    q_mu: np.ndarray  # [2] encoder's q mean
    q_logvar: np.ndarray  # [2] encoder's q log-variances (diagonal)
    q_cov: np.ndarray  # [2, 2] = diag(exp(q_logvar))
    qstar_mu: np.ndarray  # [2] q* mean
    qstar_cov: np.ndarray  # [2, 2] q* covariance (full)
    modes: np.ndarray  # [M, 2] local maxima of the density, highest first
    border_mass: float  # posterior mass on the grid's outer ring (negligible: < 1e-6)
    interpolation_error: float  # estimated error of the interpolated log density, nats
    nodes: int  # Chebyshev points along the finer axis where the decoder was run


def exact_posterior(
    model: VAE, image: Any, grid: int = DEFAULT_GRID, nodes: int = DEFAULT_NODES
) -> Posterior:
    """The exact posterior of one image for a model with a 2-d latent.

    ``image``: [784] or [28, 28], uint8 (0-255) or float in [0, 1], numpy or torch. The log
    joint log p(x|z) + log p(z) is decoded at ``nodes`` x ``nodes`` Chebyshev points of a box
    that holds the posterior's mass and interpolated to the ``grid`` x ``grid`` uniform grid
    (more points are used where the interpolant is not resolved); log p(x), the mean and
    covariance are sums over that grid. Runs on one CPU thread (see threads.py). Raises
    PosteriorError (a ValueError) for a latent that is not 2-d and for bad images.
    """
    check_model(model)
    if not isinstance(grid, (int, np.integer)) or isinstance(grid, bool) or not 3 <= grid <= 2001:
        raise PosteriorError(f"grid must be a whole number from 3 to 2001, got {grid!r}")
    if not isinstance(nodes, (int, np.integer)) or isinstance(nodes, bool) or not 8 <= nodes <= 96:
        raise PosteriorError(f"nodes must be a whole number from 8 to 96, got {nodes!r}")
    x = one_image(image)
    with one_thread():
        s = solve_batch(model, x, int(grid), int(nodes), keep_grid=True)
    assert s.log_joint is not None
    f = s.log_joint[0]
    box = s.box[0]
    axes = (np.linspace(box[0, 0], box[0, 1], grid), np.linspace(box[1, 0], box[1, 1], grid))
    cell_area = float((axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0]))
    top = f.max()
    log_density = f - (top + np.log(np.exp(f - top).sum()) + np.log(cell_area))
    log_px, elbo, elbo_qstar = float(s.log_px[0]), float(s.elbo[0]), float(s.elbo_qstar[0])
    chol = s.qstar_chol[0]
    return Posterior(
        log_px=log_px,
        elbo=elbo,
        total_gap=log_px - elbo,
        approximation_gap=log_px - elbo_qstar,
        amortisation_gap=elbo_qstar - elbo,
        kl_q_posterior=log_px - elbo,
        elbo_qstar=elbo_qstar,
        mean=s.mean[0],
        cov=s.cov[0],
        log_density=log_density,
        z_axes=axes,
        cell_area=cell_area,
        q_mu=s.q_mu[0],
        q_logvar=s.q_logvar[0],
        q_cov=np.diag(np.exp(s.q_logvar[0])),
        qstar_mu=s.qstar_mean[0],
        qstar_cov=chol @ chol.T,
        modes=find_modes(log_density, axes),
        border_mass=float(s.border_mass[0]),
        interpolation_error=float(s.interpolation_error[0]),
        nodes=int(s.nodes[0]),
    )


def find_modes(log_density: np.ndarray, axes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Grid points [M, 2] that are maxima of their 3 x 3 neighbourhood and within a factor
    1000 of the highest density, highest first (ripples in the far tail are not modes)."""
    padded = np.pad(log_density, 1, constant_values=-np.inf)
    g0, g1 = log_density.shape
    neighbours = np.stack(
        [padded[i : i + g0, j : j + g1] for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    )
    is_max = (log_density >= neighbours.max(0)) & (log_density >= log_density.max() - MODE_RANGE)
    rows, cols = np.nonzero(is_max)
    order = np.argsort(-log_density[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    return np.stack([axes[0][cols], axes[1][rows]], -1).reshape(-1, 2)

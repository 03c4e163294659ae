"""The posterior view's background job and its small display maths (no Qt: tested headless).

``run_request`` runs on the worker thread with the panel's own copy of the model: core's
exact posterior of one image and, when asked, the importance-sampling draws and the IWAE
curve. It never raises: an error becomes the result's message, which the panel shows in
place of the plot. ``gaussian_ellipse`` (any 2 x 2 covariance) and ``mass_levels``
(the density levels that enclose a given share of the mass) turn the result into outlines.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core import posterior as core_posterior
from ...core.model import VAE

IWAE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000)
CONTOUR_MASSES = (0.5, 0.9)  # the true posterior's contours enclose these shares of its mass


@dataclass(frozen=True)
class PosteriorRequest:
    """One image to analyse. ``model`` is a copy that only the worker thread uses."""

    token: int
    model: VAE
    image: np.ndarray  # float32 [784] in [0, 1]
    source: str  # "picked" or "canvas"
    label: str  # what the image is, for the panel's caption
    importance: bool = False
    draws: int = 100
    seed: int = 0


@dataclass(frozen=True)
class Gaussian:
    """A 2-d Gaussian to outline: mean [2], covariance [2, 2]."""

    mean: np.ndarray
    cov: np.ndarray


@dataclass(frozen=True)
class PosteriorResult:
    """What the panel draws for request ``token`` (``error`` set when core failed)."""

    token: int
    source: str
    label: str
    seconds: float
    posterior: Any = None  # core's Posterior
    encoder_q: Gaussian | None = None
    best_q: Gaussian | None = None
    kl: float = math.nan  # KL(q || p(z|x)) = log p(x) - ELBO
    draws: np.ndarray | None = None  # [K, 2] from q
    weights: np.ndarray | None = None  # [K], normalised
    iwae_ks: np.ndarray | None = None
    iwae_bounds: np.ndarray | None = None
    error: str | None = None


def run_request(request: PosteriorRequest) -> PosteriorResult:
    """Compute one request with core (on any thread); errors come back as the message."""
    start = time.perf_counter()
    try:
        model, image = request.model, request.image
        post = core_posterior.exact_posterior(model, image)
        extra: dict[str, Any] = {}
        if request.importance:
            z, w = core_posterior.importance_draws(model, image, request.draws, request.seed)
            ks, bounds = core_posterior.iwae_curve(model, image, IWAE_KS)
            extra = {
                "draws": np.asarray(z, np.float64).reshape(-1, 2),
                "weights": np.asarray(w, np.float64).reshape(-1),
                "iwae_ks": np.asarray(ks, np.float64).reshape(-1),
                "iwae_bounds": np.asarray(bounds, np.float64).reshape(-1),
            }
        kl = getattr(post, "kl_q_posterior", None)
        return PosteriorResult(
            request.token,
            request.source,
            request.label,
            time.perf_counter() - start,
            posterior=post,
            encoder_q=_gaussian(post, "q"),
            best_q=_gaussian(post, "q_star"),
            kl=float(post.total_gap if kl is None else kl),
            **extra,
        )
    except Exception as exc:  # noqa: BLE001 - shown in the panel, never a dead thread
        if not isinstance(exc, ValueError):
            traceback.print_exc()
        message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return PosteriorResult(
            request.token, request.source, request.label, time.perf_counter() - start, error=message
        )


def _gaussian(post: Any, prefix: str) -> Gaussian | None:
    """The Gaussian ``prefix`` of core's Posterior (mean with a cov or a diagonal logvar)."""
    mean = getattr(post, f"{prefix}_mean", None)
    if mean is None:
        return None
    cov = getattr(post, f"{prefix}_cov", None)
    if cov is None:
        logvar = getattr(post, f"{prefix}_logvar", None)
        if logvar is None:
            return None
        cov = np.diag(np.exp(np.asarray(logvar, np.float64).reshape(-1)[:2]))
    return Gaussian(np.asarray(mean, np.float64).reshape(-1)[:2], np.asarray(cov, np.float64).reshape(2, 2))


def gaussian_ellipse(
    mean: Sequence[float] | np.ndarray, cov: np.ndarray, n_sigma: float = 1.0, points: int = 73
) -> tuple[np.ndarray, np.ndarray]:
    """Closed outline (x, y) of the n-sigma contour (Mahalanobis distance ``n_sigma``) of a
    2-d Gaussian with a full covariance, e.g. the best Gaussian q* (tilted)."""
    c = np.asarray(cov, np.float64).reshape(2, 2)
    c = 0.5 * (c + c.T)
    vals, vecs = np.linalg.eigh(c)
    radii = np.sqrt(np.clip(vals, 0.0, None)) * n_sigma
    t = np.linspace(0.0, 2 * math.pi, points)
    circle = np.stack([np.cos(t) * radii[0], np.sin(t) * radii[1]])
    xy = vecs @ circle
    m = np.asarray(mean, np.float64).reshape(-1)
    return m[0] + xy[0], m[1] + xy[1]


def mass_levels(log_density: np.ndarray, masses: Sequence[float] = CONTOUR_MASSES) -> list[float]:
    """Density values whose upper level sets hold the given shares of the mass (highest
    density regions): contour lines at these values enclose e.g. 50% and 90% of p(z|x)."""
    d = np.exp(np.asarray(log_density, np.float64) - np.max(log_density)).ravel()
    order = np.sort(d)[::-1]
    cum = np.cumsum(order)
    cum /= cum[-1]
    levels = []
    for m in masses:
        i = int(np.searchsorted(cum, m))
        levels.append(float(order[min(i, order.size - 1)]))
    return levels


def density_image(log_density: np.ndarray) -> np.ndarray:
    """The density scaled to [0, 1] (its peak at 1), for the heat map and its contours."""
    a = np.asarray(log_density, np.float64)
    return np.exp(a - np.max(a)).astype(np.float32)

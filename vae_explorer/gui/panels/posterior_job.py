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
from dataclasses import dataclass, replace
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
    posterior: core_posterior.Posterior | None = None
    encoder_q: Gaussian | None = None
    best_q: Gaussian | None = None
    kl: float = math.nan  # KL(q || p(z|x)) = log p(x) - ELBO
    draws: np.ndarray | None = None  # [K, 2] from q
    weights: np.ndarray | None = None  # [K], normalised
    iwae_ks: np.ndarray | None = None
    iwae_bounds: np.ndarray | None = None
    density: np.ndarray | None = None  # float32 [G, G], the density with its peak at 1
    levels: tuple[float, ...] = ()  # density values of the CONTOUR_MASSES contours
    box: tuple[float, float, float, float] | None = None  # (x0, x1, y0, y1) to frame
    contours: tuple[tuple[np.ndarray, np.ndarray], ...] = ()  # (x, y) per level, NaN between pieces
    error: str | None = None  # the posterior failed: nothing to draw
    note: str | None = None  # the posterior is fine, the importance sampling failed


def run_request(request: PosteriorRequest) -> PosteriorResult:
    """Compute one request with core (on any thread); errors come back as the message."""
    start = time.perf_counter()
    try:
        model, image = request.model, request.image
        post = core_posterior.exact_posterior(model, image)
        extra: dict[str, Any] = {}
        if request.importance:
            extra = _importance(request)
        result = PosteriorResult(
            request.token,
            request.source,
            request.label,
            0.0,
            posterior=post,
            encoder_q=Gaussian(_vector(post.q_mu), _matrix(post.q_cov)),
            best_q=Gaussian(_vector(post.qstar_mu), _matrix(post.qstar_cov)),
            kl=float(post.kl_q_posterior),
            density=density_image(post.log_density),
            levels=tuple(mass_levels(post.log_density)),
            **extra,
        )
        # The display's own sums (framing) run here too: the GUI thread only draws.
        return replace(result, box=view_box(result), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - shown in the panel, never a dead thread
        if not isinstance(exc, ValueError):
            traceback.print_exc()
        message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return PosteriorResult(
            request.token, request.source, request.label, time.perf_counter() - start, error=message
        )


def _importance(request: PosteriorRequest) -> dict[str, Any]:
    """Draws from q with their weights and the IWAE curve; a failure becomes a note, so
    the posterior is still shown."""
    model, image = request.model, request.image
    try:
        z, w = core_posterior.importance_draws(model, image, request.draws, request.seed)
        ks, bounds = core_posterior.iwae_curve(model, image, IWAE_KS)
    except Exception as exc:  # noqa: BLE001 - shown beside the posterior
        traceback.print_exc()
        return {"note": f"importance sampling failed: {type(exc).__name__}: {exc}"}
    return {
        "draws": np.asarray(z, np.float64).reshape(-1, 2),
        "weights": np.asarray(w, np.float64).reshape(-1),
        "iwae_ks": np.asarray(ks, np.float64).reshape(-1),
        "iwae_bounds": np.asarray(bounds, np.float64).reshape(-1),
    }


def _vector(a: Any) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(2).copy()


def _matrix(a: Any) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(2, 2).copy()


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


def view_box(
    result: PosteriorResult, mass: float = 0.999, pad: float = 0.15
) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) that frames what matters: where the posterior holds ``mass`` of its
    mass and both 2-sigma ellipses, with a margin (core's grid reaches far into the tails)."""
    post = result.posterior
    assert post is not None
    xs, ys = (np.asarray(a, np.float64) for a in post.z_axes)
    level = mass_levels(post.log_density, (mass,))[0]
    rows, cols = np.nonzero(density_image(post.log_density) >= level)
    px = [xs[cols.min()], xs[cols.max()]]
    py = [ys[rows.min()], ys[rows.max()]]
    for gauss in (result.encoder_q, result.best_q):
        if gauss is not None:
            ex, ey = gaussian_ellipse(gauss.mean, gauss.cov, 2.0)
            px += [ex.min(), ex.max()]
            py += [ey.min(), ey.max()]
    x0, x1, y0, y1 = min(px), max(px), min(py), max(py)
    mx = max(x1 - x0, 1e-6) * pad
    my = max(y1 - y0, 1e-6) * pad
    return x0 - mx, x1 + mx, y0 - my, y1 + my

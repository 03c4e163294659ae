"""Which latent dimensions the model uses: the KL per dimension and the active units.

- KL per dimension: KL(q(z_i|x) || N(0, 1)), averaged over images; a dimension whose KL
  is ~0 carries no information about the image (posterior collapse shows here first).
- Active units (Burda et al. 2016, "Importance Weighted Autoencoders"): dimension i is
  active when Cov_x(E_q[z_i | x]) > 0.01, i.e. its posterior mean varies across images.

Both read only the test latents (means and log-variances), so they work live during
training from a Snapshot's ``test_mu``/``test_logvar``, with no model call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import InputError

ACTIVITY_THRESHOLD = 0.01


@dataclass(frozen=True)
class ActiveUnits:
    kl_per_dim: np.ndarray  # [d] nats, mean over images
    activity: np.ndarray  # [d] variance over images of the posterior mean
    threshold: float = ACTIVITY_THRESHOLD

    @property
    def active(self) -> np.ndarray:
        """bool [d]: dimensions whose activity exceeds the threshold."""
        return self.activity > self.threshold

    @property
    def count(self) -> int:
        return int(self.active.sum())

    @property
    def total_kl(self) -> float:
        return float(self.kl_per_dim.sum())


def kl_per_dimension(mu: Any, logvar: Any) -> np.ndarray:
    """Mean over images of KL(N(mu_i, exp(logvar_i)) || N(0, 1)) for each dimension i [d]."""
    m, lv = _checked(mu, logvar)
    with np.errstate(over="ignore"):  # a huge log-variance's KL is infinite, and says so
        return (0.5 * (np.exp(lv) + m * m - 1.0 - lv)).mean(axis=0)


def activity(mu: Any) -> np.ndarray:
    """Cov_x(E_q[z_i|x]) for each dimension [d]: the variance of the means over images."""
    m = np.asarray(mu, np.float64)
    if m.ndim != 2 or m.shape[0] < 2:
        raise InputError(f"activity needs means of at least 2 images [N, d], got shape {m.shape}")
    return m.var(axis=0, ddof=1)


def active_units(mu: Any, logvar: Any, threshold: float = ACTIVITY_THRESHOLD) -> ActiveUnits:
    """KL per dimension and activity from test latents (e.g. a Snapshot's)."""
    return ActiveUnits(kl_per_dimension(mu, logvar), activity(mu), threshold)


def from_snapshot(snapshot: Any, threshold: float = ACTIVITY_THRESHOLD) -> ActiveUnits | None:
    """:func:`active_units` of a training Snapshot's test latents; None without them."""
    if snapshot.test_mu is None or snapshot.test_logvar is None:
        return None
    return active_units(snapshot.test_mu, snapshot.test_logvar, threshold)


def _checked(mu: Any, logvar: Any) -> tuple[np.ndarray, np.ndarray]:
    m, lv = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    if m.ndim != 2 or m.shape != lv.shape or m.shape[0] == 0:
        raise InputError(
            f"means and log-variances must both be [N, d] with N > 0, got {m.shape} and {lv.shape}"
        )
    return m, lv

"""The exact 2-d posterior, the gap split and per-image inference quantities (issue 12).

Public API: ``exact_posterior(model, image) -> Posterior`` (one image, latent_dim 2),
``image_gaps`` / ``dataset_gaps`` (per image / means over a data set), ``image_metrics``
(ELBO, reconstruction, KL per image for any model), ``iwae_curve`` and
``importance_draws`` (importance sampling for one image). PosteriorError is a ValueError.
"""

from .checks import PosteriorError
from .dataset import GAP_KEYS, dataset_gaps, image_gaps, image_metrics
from .draws import importance_draws, iwae_curve
from .exact import Posterior, exact_posterior

__all__ = [
    "GAP_KEYS",
    "Posterior",
    "PosteriorError",
    "dataset_gaps",
    "exact_posterior",
    "image_gaps",
    "image_metrics",
    "importance_draws",
    "iwae_curve",
]

"""Filling in missing pixels with a trained VAE.

:mod:`.api` is the entry point (``impute``, ``impute_multiple``, the method names and their
defaults), :mod:`.samplers` holds the four methods, :mod:`.benchmark` scores them.
"""

from .api import (
    DEFAULT_INIT,
    DEFAULT_METHOD,
    DEFAULT_SAMPLES,
    DEFAULT_STEPS,
    FILLS,
    INITS,
    METHOD_LABELS,
    METHODS,
    REFILLS,
    Imputation,
    as_mask,
    fill_vector,
    impute,
    impute_multiple,
    marginal_mean_image,
)
from .benchmark import EvalRow, evaluate_imputations, format_table

__all__ = [
    "DEFAULT_INIT",
    "DEFAULT_METHOD",
    "DEFAULT_SAMPLES",
    "DEFAULT_STEPS",
    "FILLS",
    "INITS",
    "METHODS",
    "METHOD_LABELS",
    "REFILLS",
    "EvalRow",
    "Imputation",
    "as_mask",
    "evaluate_imputations",
    "fill_vector",
    "format_table",
    "impute",
    "impute_multiple",
    "marginal_mean_image",
]

"""Labelled models (Kingma et al. 2014): M2 and M1+M2, their loss, the label split, the
training run and the test metrics. See :mod:`.model` for the public API."""

from .evaluation import classification_metrics, evaluate_labelled, predict_labels
from .job import run_labelled_job
from .job_settings import INDICES_KEY, LabelledJob
from .loss import LossWeights, labelled_elbo, labelled_terms, m2_loss, unlabelled_elbo
from .model import CLASSES, KINDS, LabelledConfig, LabelledModel, M2Networks
from .split import LABEL_BUDGETS, labelled_indices, unlabelled_indices

__all__ = [
    "CLASSES",
    "INDICES_KEY",
    "KINDS",
    "LABEL_BUDGETS",
    "LabelledConfig",
    "LabelledJob",
    "LabelledModel",
    "LossWeights",
    "M2Networks",
    "classification_metrics",
    "evaluate_labelled",
    "labelled_elbo",
    "labelled_indices",
    "labelled_terms",
    "m2_loss",
    "predict_labels",
    "run_labelled_job",
    "unlabelled_elbo",
    "unlabelled_indices",
]

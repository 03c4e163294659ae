"""Test metrics of a labelled model: error of q(y|x), per-class accuracy and the ELBO."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..model import as_image_tensor
from .loss import unlabelled_elbo
from .model import LabelledModel


@torch.inference_mode()
def predict_labels(model: LabelledModel, images: Any, batch_size: int = 5000) -> np.ndarray:
    """q(y|x)'s most probable class of each image, int64 [N]."""
    x = as_image_tensor(images)
    out = [model.classify(x[i : i + batch_size]).cpu() for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, np.int64)


def classification_metrics(predicted: np.ndarray, labels: np.ndarray, classes: int = 10) -> dict[str, Any]:
    """ "error" (fraction wrong) and "per_class_accuracy" (a list, NaN for absent classes)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels).astype(np.int64)
    if predicted.shape != labels.shape:
        raise ValueError(f"{predicted.shape[0]} predictions for {labels.shape[0]} labels")
    right = predicted == labels
    per_class = [
        float(right[labels == c].mean()) if (labels == c).any() else float("nan") for c in range(classes)
    ]
    return {
        "error": float(1.0 - right.mean()) if right.size else float("nan"),
        "per_class_accuracy": per_class,
    }


@torch.inference_mode()
def evaluate_labelled(
    model: LabelledModel, images: Any, labels: Any, seed: int = 0, batch_size: int = 2000
) -> dict[str, Any]:
    """Test error, per-class accuracy and the mean unlabelled ELBO U(x) (nats per image, of
    the pixels for M2, of M1's features for M1+M2; one draw of z per class and image)."""
    was_training = model.training
    model.eval()
    x = as_image_tensor(images)
    gen = torch.Generator(device=model.device).manual_seed(seed)
    predicted, elbo = [], 0.0
    for i in range(0, x.shape[0], batch_size):
        feats = model.features(x[i : i + batch_size].to(model.device))
        logits = model.m2.class_logits(feats)
        predicted.append(logits.argmax(-1).cpu())
        elbo += float(unlabelled_elbo(model.m2, feats, gen, logits=logits).sum())
    model.train(was_training)
    pred = torch.cat(predicted).numpy().astype(np.int64)
    metrics = classification_metrics(pred, np.asarray(labels), model.classes)
    metrics["elbo"] = elbo / max(x.shape[0], 1)
    return metrics

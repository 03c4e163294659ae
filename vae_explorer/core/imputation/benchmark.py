"""Scoring imputation methods against each other: missing-pixel error, a classifier's
accuracy on the restored images, and time (the `impute-eval` command's table)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..model import VAE, as_image_tensor
from .api import METHODS, as_mask, fill_vector, impute_multiple


@dataclass
class EvalRow:
    """One row of the imputation table: a method, or a reference (complete / masked)."""

    name: str
    mse: float  # mean squared error per missing pixel (0-1 scale)
    accuracy: float | None  # classifier accuracy on the imputed images
    ms_per_image: float | None  # wall time of the batched imputation, per image
    extra: str = ""  # diagnostics: mwg acceptance, importance ESS


def evaluate_imputations(
    model: VAE,
    images: Any,
    mask: Any,
    methods: Sequence[str] = METHODS,
    labels: Any = None,
    classifier: Any = None,
    steps: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    fill: str = "zero",
    progress: Callable[[str], None] | None = None,
    on_images: Callable[[str, int], None] | None = None,
) -> list[EvalRow]:
    """Missing-pixel MSE, classifier accuracy and time for each method, with reference rows.

    "complete" is the classifier on the original images and "masked" on the images with
    their missing pixels set to the fill (what the model is given). ``classifier`` needs a
    ``predict(images) -> labels`` method; without it accuracies are None. ``progress(method)``
    is called as each method starts, ``on_images(method, images_done)`` as it goes.
    """
    x = as_image_tensor(images)
    m = as_mask(mask, x.shape[0])
    n_missing = int(m.sum())
    labels_np = None if labels is None else np.asarray(labels).astype(np.int64)

    def accuracy(imgs: torch.Tensor) -> float | None:
        if classifier is None or labels_np is None:
            return None
        return float((np.asarray(classifier.predict(imgs)) == labels_np).mean())

    def mse(imgs: torch.Tensor) -> float:
        return float(((imgs - x)[m].double().square().sum() / max(n_missing, 1)).item())

    fill_vec = fill_vector(model, fill, model.device).cpu()
    masked = torch.where(m, fill_vec.expand_as(x), x)
    rows = [EvalRow("complete", 0.0, accuracy(x), None), EvalRow("masked", mse(masked),
                                                               accuracy(masked), None)]  # fmt: skip
    for method in methods:
        if progress is not None:
            progress(method)
        start = time.perf_counter()
        step = None if on_images is None else _for_method(on_images, method)
        res = impute_multiple(
            model, x, m, method, steps, samples, seed, fill, num_imputations=1, progress=step
        )
        seconds = time.perf_counter() - start
        extra = ""
        if res.acceptance is not None:
            extra = f"acceptance {float(res.acceptance.mean()):.3f}"
        elif res.ess is not None:
            extra = f"ESS {float(res.ess.mean()):.1f} of {res.samples}"
        rows.append(
            EvalRow(
                method,
                mse(res.images),
                accuracy(res.images),
                1000 * seconds / max(x.shape[0], 1),
                extra,
            )
        )
    return rows


def _for_method(on_images: Callable[[str, int], None], method: str) -> Callable[[int], None]:
    return lambda done: on_images(method, done)


def format_table(rows: list[EvalRow], reference: str = "single") -> str:
    """The evaluation rows as a fixed-width text table; "vs single" is the relative MSE."""
    base = next((r.mse for r in rows if r.name == reference), None)
    lines = [
        f"{'method':<14}{'MSE (missing)':>14}{'vs ' + reference:>11}{'accuracy':>10}{'ms/image':>12}  notes",
        "-" * 74,
    ]
    for r in rows:
        rel = f"{100 * (r.mse / base - 1):+.1f}%" if base and r.name not in ("complete",) else ""
        acc = f"{100 * r.accuracy:.2f}%" if r.accuracy is not None else "-"
        ms = f"{r.ms_per_image:.3f}" if r.ms_per_image is not None else "-"
        lines.append(f"{r.name:<14}{r.mse:>14.5f}{rel:>11}{acc:>10}{ms:>12}  {r.extra}".rstrip())
    return "\n".join(lines)

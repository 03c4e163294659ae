"""Which training images keep their label: a balanced subset chosen by the seed."""

from __future__ import annotations

import numpy as np

from ..model import ConfigError

LABEL_BUDGETS = (100, 600, 1000, 3000)


def labelled_indices(labels: np.ndarray, count: int | None, seed: int, classes: int = 10) -> np.ndarray:
    """Sorted int64 indices of ``count`` images, ``count / classes`` of each class, drawn
    without replacement by ``seed``; None = every image (a conditional VAE)."""
    labels = np.asarray(labels)
    if count is None:
        return np.arange(labels.shape[0], dtype=np.int64)
    if isinstance(count, bool) or count < classes or count % classes:
        raise ConfigError(
            f"the label count must be a multiple of {classes} (the same number of each class), got {count!r}"
        )
    per_class = count // classes
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(classes):
        members = np.flatnonzero(labels == c)
        if members.shape[0] < per_class:
            raise ConfigError(
                f"{count} labels need {per_class} images of class {c}, but the training set "
                f"has {members.shape[0]}"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def unlabelled_indices(n: int, labelled: np.ndarray) -> np.ndarray:
    """Every index in 0..n-1 not in ``labelled``, as int64."""
    keep = np.ones(n, dtype=bool)
    keep[labelled] = False
    return np.flatnonzero(keep).astype(np.int64)

"""A small digit classifier that judges imputations: does the restored digit read right?

An MLP 784 -> 256 (ReLU) -> 10 trained for a few epochs on the training set (a few seconds
on a CPU, about 98% test accuracy on MNIST). It is cached in the user cache folder
(``VAE_EXPLORER_CACHE_DIR`` overrides it) as safetensors, never pickle, keyed by the
dataset's name, a fingerprint of its training data and the training settings, so a
changed dataset or recipe trains afresh instead of reusing a stale file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .files import atomic_path, open_regular
from .image import IMAGE_PIXELS
from .model import as_image_tensor

CACHE_ENV = "VAE_EXPLORER_CACHE_DIR"
RECIPE_VERSION = 1


@dataclass(frozen=True)
class ClassifierConfig:
    """Training recipe; part of the cache key."""

    hidden_dim: int = 256
    epochs: int = 3
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0


class DigitClassifier(nn.Module):
    """MLP 784 -> hidden (ReLU) -> n_classes on images in [0, 1]."""

    def __init__(self, hidden_dim: int = 256, n_classes: int = 10) -> None:
        super().__init__()
        self.hidden = nn.Linear(IMAGE_PIXELS, hidden_dim)
        self.out = nn.Linear(hidden_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(x)))

    @torch.no_grad()
    def predict(self, images: Any, batch_size: int = 10_000) -> np.ndarray:
        """Predicted class indices (int64 numpy [N]) for uint8 or [0, 1] float images."""
        was_training = self.training
        self.eval()
        x = as_image_tensor(images)
        device = next(self.parameters()).device
        preds = [
            self(x[s : s + batch_size].to(device)).argmax(1).cpu() for s in range(0, x.shape[0], batch_size)
        ]
        self.train(was_training)
        return torch.cat(preds).numpy() if preds else np.zeros(0, np.int64)

    def accuracy(self, images: Any, labels: Any) -> float:
        """Fraction of images whose predicted class equals the label."""
        labels = np.asarray(labels).astype(np.int64)
        if labels.size == 0:
            raise ValueError("cannot measure accuracy on an empty set")
        return float((self.predict(images) == labels).mean())


def train_classifier(images: Any, labels: Any, config: ClassifierConfig | None = None) -> DigitClassifier:
    """Train a DigitClassifier on CPU with Adam; deterministic for a given seed."""
    config = config or ClassifierConfig()
    x = as_image_tensor(images)
    y = torch.as_tensor(np.asarray(labels).astype(np.int64))
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need as many labels as images (and some), got {x.shape[0]}, {y.shape[0]}")
    g = torch.Generator().manual_seed(config.seed)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(config.seed)
    net = DigitClassifier(config.hidden_dim, int(y.max()) + 1 if y.numel() else 10)
    torch.random.set_rng_state(torch_state)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    steps_total = config.epochs * ((x.shape[0] + config.batch_size - 1) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=steps_total)
    net.train()
    for _ in range(config.epochs):
        order = torch.randperm(x.shape[0], generator=g)
        for s in range(0, x.shape[0], config.batch_size):
            idx = order[s : s + config.batch_size]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return net


def cache_dir() -> Path:
    """Where cached classifiers live: $VAE_EXPLORER_CACHE_DIR or the user cache folder."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vae-explorer"))


def _fingerprint(images: np.ndarray, labels: np.ndarray, config: ClassifierConfig) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({**config.__dict__, "recipe": RECIPE_VERSION}, sort_keys=True).encode())
    h.update(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels).tobytes())
    return h.hexdigest()[:16]


def load_or_train_classifier(
    dataset: str,
    images: Any,
    labels: Any,
    config: ClassifierConfig | None = None,
    cache: bool = True,
) -> DigitClassifier:
    """The cached classifier for this training data and recipe, training it if needed.

    A cache file that is unreadable or mismatched is ignored and replaced (never trusted:
    safetensors holds only tensors, so loading it runs no code).
    """
    from safetensors.torch import load, save

    config = config or ClassifierConfig()
    imgs = np.asarray(images)
    labs = np.asarray(labels)
    key = _fingerprint(imgs, labs, config)
    safe_name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset)
    path = cache_dir() / f"classifier-{safe_name}-{key}.safetensors"
    n_classes = int(labs.max()) + 1 if labs.size else 10
    if cache and path.is_file():
        try:
            net = DigitClassifier(config.hidden_dim, n_classes)
            net.load_state_dict(load(_read_capped(path, net)))
            if _sound(net.eval(), imgs, labs):
                return net
        except Exception:  # a bad (or changing) cache file is retrained, not fatal
            pass
    net = train_classifier(imgs, labs, config)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = save(
                {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
                metadata={"dataset": dataset, "key": key, "recipe": str(RECIPE_VERSION)},
            )
            with atomic_path(path) as tmp:  # a full disk leaves no partial file behind
                tmp.write_bytes(payload)
        except OSError:
            pass  # caching is an optimisation; a read-only or full cache folder is not an error
    return net


# A cached net must classify this many of the first training images at least this well
# (a trained one gets ~99% on MNIST, ~93% on Fashion-MNIST; damaged weights, ~chance).
_CHECK_IMAGES = 1000
_CHECK_ACCURACY = 0.5


def _sound(net: DigitClassifier, images: np.ndarray, labels: np.ndarray) -> bool:
    """Whether a cached net's weights are finite and it still classifies: a file with
    NaN (or otherwise damaged) weights loads without complaint and scores every image
    the same."""
    if not all(bool(torch.isfinite(p).all()) for p in net.parameters()):
        return False
    n = min(_CHECK_IMAGES, len(labels))
    return n == 0 or net.accuracy(images[:n], labels[:n]) >= _CHECK_ACCURACY


def _read_capped(path: Path, net: DigitClassifier) -> bytes:
    """The cache file's bytes, read into memory (never memory-mapped: a file that changes
    while it is read must not crash the process), refusing one far larger than the net."""
    limit = 2 * sum(p.numel() * p.element_size() for p in net.parameters()) + (1 << 20)
    with open_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: larger than a cached classifier can be")
    return data


def get_classifier(dataset: str = "mnist", root: str | None = None) -> DigitClassifier:
    """The classifier for a named dataset's training split (cached)."""
    from .data import load_dataset

    data = load_dataset(dataset, "train", root=root)
    return load_or_train_classifier(dataset, data.images, data.labels)

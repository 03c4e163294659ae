"""Shared fixtures: small real data, tiny models, isolated user folders."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep caches and downloads of every test out of the real user folders."""
    root = tmp_path_factory.getbasetemp() / "user"
    monkeypatch.setenv("VAE_EXPLORER_DATA_DIR", str(root / "datasets"))
    monkeypatch.setenv("VAE_EXPLORER_CACHE_DIR", str(root / "cache"))


@pytest.fixture(scope="session")
def mnist_test():
    from vae_explorer.core.data import load_dataset

    return load_dataset("mnist", "test")


@pytest.fixture(scope="session")
def small_images(mnist_test) -> np.ndarray:
    """The first 2,000 test digits, uint8 [2000, 28, 28]."""
    return mnist_test.images[:2000]


@pytest.fixture
def tiny_model():
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=2, hidden_dim=32))


@pytest.fixture
def make_idx_folder(tmp_path, mnist_test):
    """Builds a folder of the four IDX files from real test digits: make(n_train, n_test)."""
    from vae_explorer.core.data import SPLIT_FILES, write_idx

    def make(n_train: int = 600, n_test: int = 200):
        folder = tmp_path / "data"
        folder.mkdir(exist_ok=True)
        for split, n in (("train", n_train), ("test", n_test)):
            img, lab = SPLIT_FILES[split]
            write_idx(folder / f"{img}.gz", mnist_test.images[:n])
            write_idx(folder / f"{lab}.gz", mnist_test.labels[:n])
        return folder

    return make

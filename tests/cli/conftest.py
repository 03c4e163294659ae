"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
import torch

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


@pytest.fixture
def checkpoint(tmp_path):
    """A tiny untrained 2-d VAE saved as trained on MNIST."""
    torch.manual_seed(0)
    return save_checkpoint(VAE(VAEConfig(hidden_dim=16)), tmp_path / "tiny.safetensors", {"dataset": "mnist"})

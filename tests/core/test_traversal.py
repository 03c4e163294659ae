"""Traversal grids: rows = dimensions, columns = -3..3 standard deviations."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.latent import decode_latents
from vae_explorer.core.model import VAE, InputError, VAEConfig
from vae_explorer.core.traversal import dimension_sigmas, traversal_codes, traversal_grid, traversal_picture


def test_codes_move_one_dimension_per_row_by_its_sigma():
    z = np.array([1.0, 2.0, 3.0])
    codes = traversal_codes(z, [0, 2], [-1, 0, 1], sigmas=[0.5, 1.0, 2.0]).reshape(2, 3, 3)
    assert np.allclose(codes[0, :, 0], [0.5, 1.0, 1.5]) and np.allclose(codes[0, :, 1:], [2, 3])
    assert np.allclose(codes[1, :, 2], [1, 3, 5]) and np.allclose(codes[1, :, :2], [1, 2])
    centred = traversal_codes(z, [1], [-3, 3], [1, 2, 1], centred=True)
    assert np.allclose(centred[:, 1], [-6, 6])


def test_sigmas_from_the_test_means_or_the_prior():
    mu = np.array([[0.0, 1.0], [2.0, 1.0]])
    assert np.allclose(dimension_sigmas(mu, 2), [1.0, 1.0])  # std 1, and 0 -> the prior's 1
    assert np.allclose(dimension_sigmas(np.array([[0.0], [4.0]]), 1), [2.0])
    assert np.allclose(dimension_sigmas(None, 3), 1)


def test_grid_decodes_each_traversal():
    import torch

    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=16))
    z = np.array([0.1, -0.2, 0.3], np.float32)
    grid = traversal_grid(model, z, dims=[0, 2])
    assert grid.shape == (2, 9, 28, 28)
    expected = z.copy()
    expected[2] += 3.0
    assert np.allclose(grid[1, -1], decode_latents(model, expected[None])[0], atol=1e-6)
    assert not np.allclose(grid[0, 0], grid[0, -1])  # moving a dimension changes the image
    assert traversal_picture(grid, pad=2).shape == (2 * 30, 9 * 30)
    with pytest.raises(InputError, match="outside this model's 3"):
        traversal_grid(model, z, dims=[3])

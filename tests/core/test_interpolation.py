"""Latent paths between two codes, and their decodings."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.interpolation import decode_path, latent_path, strip_picture
from vae_explorer.core.latent import decode_latents
from vae_explorer.core.model import InputError


@pytest.mark.parametrize("kind", ["linear", "spherical"])
def test_endpoints_decode_to_the_endpoints_decodings(tiny_model, kind):
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=2).astype(np.float32), rng.normal(size=2).astype(np.float32)
    images = decode_path(tiny_model, z0, z1, 7, kind)
    assert images.shape == (7, 784)
    ends = decode_latents(tiny_model, np.stack([z0, z1])).reshape(2, 784)
    assert np.allclose(images[0], ends[0], atol=1e-6) and np.allclose(images[-1], ends[1], atol=1e-6)
    assert not np.allclose(images[3], ends[0])  # the middle is somewhere else


def test_linear_path_is_evenly_spaced():
    path = latent_path([0, 0, 0], [3, 6, 9], 4)
    assert np.allclose(path, [[0, 0, 0], [1, 2, 3], [2, 4, 6], [3, 6, 9]])


def test_spherical_path_turns_on_the_great_circle_and_interpolates_the_norm():
    z0, z1 = np.array([2.0, 0, 0]), np.array([0, 4.0, 0])
    path = latent_path(z0, z1, 5, "spherical")
    norms = np.linalg.norm(path, axis=1)
    assert np.allclose(norms, [2, 2.5, 3, 3.5, 4], atol=1e-5)
    angles = np.arctan2(path[:, 1], path[:, 0])
    assert np.allclose(np.diff(angles), np.pi / 8, atol=1e-5)  # constant angular speed
    assert np.allclose(path[:, 2], 0)  # stays in the plane of the two ends and the origin
    # Degenerate ends fall back to the straight line.
    assert np.allclose(latent_path([0, 0], [1, 1], 3, "spherical"), latent_path([0, 0], [1, 1], 3))
    assert np.allclose(latent_path([1, 1], [2, 2], 3, "spherical"), latent_path([1, 1], [2, 2], 3))


def test_bad_paths_are_named():
    with pytest.raises(InputError, match="same latent size"):
        latent_path([0, 0], [0, 0, 0], 3)
    with pytest.raises(InputError, match="at least 2"):
        latent_path([0, 0], [1, 1], 1)
    with pytest.raises(InputError, match="linear, spherical"):
        latent_path([0, 0], [1, 1], 3, "curvy")
    with pytest.raises(InputError, match="finite"):
        latent_path([0, np.nan], [1, 1], 3)


def test_strip_picture_lays_the_images_in_a_row():
    images = np.stack([np.full(784, k / 4, np.float32) for k in range(5)])
    strip = strip_picture(images, pad=2)
    assert strip.shape == (28, 5 * 30 - 2)
    assert np.allclose(strip[:, 30:58], 0.25) and np.allclose(strip[:, 28:30], 1.0)


@pytest.mark.parametrize("latent_dim, rows", [(2, 1), (3, 2)])
def test_the_figures_command_writes_the_walk_and_the_traversal(tmp_path, make_idx_folder, latent_dim, rows):
    """`figures --interpolate I,J --traversal`: a strip per path kind, a row per dimension."""
    import torch
    from PIL import Image

    from vae_explorer.cli import main
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(0)
    ckpt = save_checkpoint(VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=16)), tmp_path / "m.safetensors")
    data = make_idx_folder(50, 40)
    out = tmp_path / "figs"
    args = ["figures", str(ckpt), "--out", str(out), "--data-dir", str(data), "--grid", "4", "--digits", "2",
            "--methods", "single", "--interpolate", "0,5", "--steps", "6", "--traversal"]  # fmt: skip
    assert main(args) == 0
    with Image.open(out / "m-interpolation.png") as walk, Image.open(out / "m-traversal.png") as trav:
        # 2x enlarged tiles of 30 px (28 + gap), plus the title and row-label margins.
        assert walk.height == rows * 30 * 2 + 34 + 10 and walk.width == 6 * 30 * 2 + 120 + 10
        assert trav.height == latent_dim * 30 * 2 + 34 + 10 and trav.width == 9 * 30 * 2 + 120 + 10
    assert main([*args[:-5], "--interpolate", "0,40"]) == 2  # only 40 test images

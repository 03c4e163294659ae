"""The fast paths of the gap split: the tiled Chebyshev log joint decodes each tile at its own
points, cuts only the axis that needs it and only where the mass is, its log p(x) matches
direct decoding, the ELBO read off the interpolant matches decoding, and the box search finds
a narrow mode far from the encoder's guess."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.posterior import image_gaps, refine
from vae_explorer.core.posterior.chebyshev import chebyshev_nodes
from vae_explorer.core.posterior.grid import find_boxes, grid_points, log_joint, uniform_axes
from vae_explorer.core.posterior.refine import chebyshev_log_joint
from vae_explorer.core.posterior.solve import solve_batch

TRAINED = Path(__file__).resolve().parents[2] / "trained"


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(TRAINED / "mnist-bernoulli-z2.safetensors").model.eval()


def _x(images: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(images, dtype=torch.float32).reshape(len(images), -1) / 255


def _tile_points(box: np.ndarray, g, row: int, i1: int, i0: int) -> np.ndarray:
    """The Chebyshev points [n1 * n0, 2] of tile (i1, i0) of image row ``row`` of group g."""
    n1, n0 = g.values.shape[-2:]
    lo, width = box[:, 0], box[:, 1] - box[:, 0]
    u0 = g.edges0[row, i0] + (g.edges0[row, i0 + 1] - g.edges0[row, i0]) * chebyshev_nodes(n0)
    u1 = g.edges1[row, i1] + (g.edges1[row, i1 + 1] - g.edges1[row, i1]) * chebyshev_nodes(n1)
    z0, z1 = np.meshgrid(lo[0] + width[0] * u0, lo[1] + width[1] * u1, indexing="xy")
    return np.stack([z0, z1], -1).reshape(-1, 2)


def test_every_tile_holds_the_decodes_at_its_own_points(shipped, mnist_test, monkeypatch):
    x = _x(mnist_test.images[[0, 3]])
    with torch.inference_mode():
        mu, logvar = shipped.encode(x)
    box = find_boxes(shipped, x, mu.double(), logvar.double())
    # Never resolved: every tile is cut and decoded until an axis holds 4 tiles.
    monkeypatch.setattr(refine, "TAIL_TOLERANCE", -1.0)
    monkeypatch.setattr(refine, "LOG_PX_BUDGET", -1.0)
    monkeypatch.setattr(refine, "MAX_TILES", 4)
    joint = chebyshev_log_joint(shipped, x, box, 9)
    seen = 0
    for g in joint.groups:
        assert g.values.shape[1:3] == (4, 4)
        for row, image in enumerate(g.idx):
            for i1 in range(4):
                for i0 in range(4):
                    z = _tile_points(joint.box[image], g, row, i1, i0)
                    direct = log_joint(shipped, x[image : image + 1], torch.from_numpy(z[None])).numpy()
                    np.testing.assert_allclose(g.values[row, i1, i0].ravel(), direct[0], atol=1e-3)
                    # The interpolant reproduces its nodes, and both evaluators agree.
                    np.testing.assert_allclose(
                        joint.at(z[None], np.zeros(1), np.array([image]))[0], direct[0], atol=1e-3
                    )
                    seen += 1
    assert seen == 2 * 16
    t = uniform_axes(torch.from_numpy(joint.box), 21).numpy()
    z = np.stack(
        [np.stack(np.meshgrid(t[i, 0], t[i, 1], indexing="xy"), -1).reshape(-1, 2) for i in range(2)]
    )
    np.testing.assert_allclose(joint.uniform(21).reshape(2, -1), joint.at(z, np.zeros(2)), atol=1e-9)


def test_tiled_log_px_matches_decoding_the_whole_grid():
    model = load_checkpoint(TRAINED / "mnist-gaussian-z2.safetensors").model.eval()
    from vae_explorer.core.data import load_dataset

    images = load_dataset("mnist", "test").images[:12]
    x = _x(images)
    with torch.inference_mode():
        mu, logvar = model.encode(x)
    box = find_boxes(model, x, mu.double(), logvar.double())
    joint = chebyshev_log_joint(model, x, box, 17)
    axes = uniform_axes(box, 64)
    direct = log_joint(model, x, grid_points(axes[:, 0], axes[:, 1])).numpy()
    tiled = joint.uniform(64).reshape(len(x), -1)
    lse = np.logaddexp.reduce
    np.testing.assert_allclose(lse(tiled, axis=1), lse(direct, axis=1), atol=1e-3)
    # Far fewer decodes than the tiles' finest spacing would need over the whole box.
    decoded = sum(int((g.tails.max(-1) >= 0).sum()) for g in joint.groups)
    assert decoded < len(x) * 16
    assert any(g.values.shape[1] * g.values.shape[2] > 1 for g in joint.groups)


def test_elbos_read_off_the_interpolant_match_decoding(shipped, mnist_test):
    x = _x(mnist_test.images[:24])
    decoded = solve_batch(shipped, x, 64, 17, decode_elbo=True)
    read = solve_batch(shipped, x, 64, 17, decode_elbo=False)
    np.testing.assert_allclose(read.elbo, decoded.elbo, atol=3e-3)
    np.testing.assert_allclose(read.elbo_qstar, decoded.elbo_qstar, atol=3e-3)
    np.testing.assert_array_equal(read.log_px, decoded.log_px)


def test_a_narrow_mode_far_from_the_encoders_guess_is_found(shipped, mnist_test):
    # Test image 33: the encoder's q sits ~16 of its sigmas from a narrow mode that holds
    # almost all the mass (42 nats above the broad bump next to q). A search that starts
    # from q's box alone zooms into the bump and misses it.
    image = mnist_test.images[33]
    gaps = image_gaps(shipped, image[None])
    side = np.linspace(-4.0, 4.0, 401)  # spacing 0.02, a quarter of the mode's width
    z = np.stack(np.meshgrid(side, side, indexing="xy"), -1).reshape(1, -1, 2)
    f = log_joint(shipped, _x(image[None]), torch.from_numpy(z)).numpy()[0]
    brute = np.logaddexp.reduce(f) + 2 * math.log(side[1] - side[0])
    assert gaps["log_px"][0] == pytest.approx(brute, abs=0.01)


class _WavyAlongZ0(VAE):
    """A decoder whose output varies quickly with z0 and not at all with z1: the log joint
    needs many Chebyshev points along dim 0 and few along dim 1 (the prior's quadratic)."""

    def __init__(self) -> None:
        super().__init__(VAEConfig(latent_dim=2, hidden_dim=8))
        gen = torch.Generator().manual_seed(0)
        self.freq = 2.0 + 6.0 * torch.rand(784, generator=gen)
        self.phase = 6.0 * torch.rand(784, generator=gen)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return 1.5 * torch.sin(z[:, :1] * self.freq + self.phase)


def test_only_the_unresolved_axis_is_cut():
    model = _WavyAlongZ0().eval()
    x = torch.full((1, 784), 0.5)
    box = torch.tensor([[[-1.5, 1.5], [-2.0, 2.5]]], dtype=torch.float64)
    joint = chebyshev_log_joint(model, x, box, 9)
    (g, *rest) = joint.groups
    t1, t0 = g.values.shape[1:3]
    assert not rest and t1 == 1 and t0 > 1  # rows (dim 1) stay one tile, columns (dim 0) cut
    # Where the posterior has its mass, log p(x) is that of decoding the whole grid.
    axes = uniform_axes(box, 201)
    direct = log_joint(model, x, grid_points(axes[:, 0], axes[:, 1])).numpy()[0]
    lse = np.logaddexp.reduce
    assert lse(joint.uniform(201).ravel()) == pytest.approx(lse(direct), abs=3e-3)
    # Tiles whose error estimate is within tolerance can stand in for decodes there.
    z = np.stack(np.meshgrid(np.linspace(-1.4, 1.4, 57), np.linspace(-1.9, 2.4, 5), indexing="xy"), -1)
    z = z.reshape(1, -1, 2)
    ok = joint.resolved(z)
    assert ok.any()
    direct_z = log_joint(model, x, torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(joint.at(z, np.zeros(1))[ok], direct_z[ok], atol=2e-3)

"""The fast paths of the gap split: nested Chebyshev refinement reuses the right decodes and
refines only the axis that needs it, the ELBO read off the interpolant matches decoding, and
the box search finds a narrow mode far from the encoder's guess."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.posterior import chebyshev, image_gaps
from vae_explorer.core.posterior.chebyshev import chebyshev_log_joint, chebyshev_nodes
from vae_explorer.core.posterior.grid import find_boxes, grid_points, log_joint
from vae_explorer.core.posterior.solve import solve_batch

TRAINED = Path(__file__).resolve().parents[2] / "trained"


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(TRAINED / "mnist-bernoulli-z2.safetensors").model.eval()


def _x(images: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(images, dtype=torch.float32).reshape(len(images), -1) / 255


def test_nested_refinement_decodes_every_node_where_it_belongs(shipped, mnist_test, monkeypatch):
    x = _x(mnist_test.images[[0, 3]])
    with torch.inference_mode():
        mu, logvar = shipped.encode(x)
    box = find_boxes(shipped, x, mu.double(), logvar.double())
    # Never resolved: 9 -> 17 -> 33 points per axis, each level keeping the previous one's.
    monkeypatch.setattr(chebyshev, "TAIL_TOLERANCE", -1.0)
    monkeypatch.setattr(chebyshev, "LOG_PX_TOLERANCE", -1.0)
    monkeypatch.setattr(chebyshev, "MAX_NODES", 33)
    joint = chebyshev_log_joint(shipped, x, box, 9)
    assert list(joint.nodes) == [33, 33] and len(joint.groups) == 1
    idx, values = joint.groups[0]
    t = torch.from_numpy(chebyshev_nodes(33))
    axes = box[..., :1] + (box[..., 1:] - box[..., :1]) * t
    direct = log_joint(shipped, x, grid_points(axes[:, 0], axes[:, 1])).view(-1, 33, 33).numpy()
    np.testing.assert_allclose(values, direct[idx], atol=1e-3)
    # The interpolant reproduces the nodes and lies between them where the points are fine.
    z = grid_points(axes[:, 0], axes[:, 1]).numpy()
    np.testing.assert_allclose(joint.at(z, np.zeros(2)), direct.reshape(2, -1), atol=1e-3)


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


def test_only_the_unresolved_axis_gets_more_points():
    model = _WavyAlongZ0().eval()
    x = torch.full((1, 784), 0.5)
    box = torch.tensor([[[-1.5, 1.5], [-2.0, 2.5]]], dtype=torch.float64)
    joint = chebyshev_log_joint(model, x, box, 9)
    (idx, values), *rest = joint.groups
    n1, n0 = values.shape[1:]
    assert not rest and n1 == 9 and n0 > 9  # rows (dim 1) stay at 9, columns (dim 0) refined
    a0 = box[:, 0, :1] + (box[:, 0, 1:] - box[:, 0, :1]) * torch.from_numpy(chebyshev_nodes(n0))
    a1 = box[:, 1, :1] + (box[:, 1, 1:] - box[:, 1, :1]) * torch.from_numpy(chebyshev_nodes(n1))
    direct = log_joint(model, x, grid_points(a0, a1)).view(1, n1, n0).numpy()
    np.testing.assert_allclose(values, direct, atol=1e-4)
    z = np.stack(np.meshgrid(np.linspace(-1.4, 1.4, 7), np.linspace(-1.9, 2.4, 5), indexing="xy"), -1)
    z = z.reshape(1, -1, 2)
    np.testing.assert_allclose(
        joint.at(z, np.zeros(1)), log_joint(model, x, torch.from_numpy(z)).numpy(), atol=2e-3
    )

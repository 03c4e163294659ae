"""KL per dimension and Burda et al.'s active units, from test latents alone."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.active_units import active_units, from_snapshot, kl_per_dimension
from vae_explorer.core.model import InputError


def test_a_collapsed_dimension_is_inactive_and_has_no_kl():
    rng = np.random.default_rng(0)
    n = 2000
    mu = np.stack([rng.normal(0, 1.5, n), rng.normal(0, 0.05, n), np.zeros(n)], axis=1)
    logvar = np.stack([np.full(n, -3.0), np.full(n, -0.5), np.zeros(n)], axis=1)
    units = active_units(mu, logvar)
    assert units.active.tolist() == [True, False, False] and units.count == 1
    assert units.kl_per_dim[2] == pytest.approx(0.0, abs=1e-12)  # q = prior exactly
    # Closed form of dimension 0: 0.5 (e^-3 + E[mu^2] - 1 + 3).
    assert units.kl_per_dim[0] == pytest.approx(0.5 * (np.exp(-3) + (mu[:, 0] ** 2).mean() + 2), rel=1e-9)
    assert units.activity[0] == pytest.approx(2.25, rel=0.1)
    assert units.total_kl == pytest.approx(units.kl_per_dim.sum())


def test_kl_matches_torch_for_random_posteriors():
    import torch

    from vae_explorer.core.model import kl_divergence

    rng = np.random.default_rng(1)
    mu, logvar = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    total = kl_divergence(torch.from_numpy(mu), torch.from_numpy(logvar)).mean().item()
    assert kl_per_dimension(mu, logvar).sum() == pytest.approx(total, rel=1e-9)


def test_from_a_snapshot_without_a_model_call(tiny_model, small_images):
    from vae_explorer.core.training import take_snapshot

    snap = take_snapshot(tiny_model, small_images[:40], 1, 1, [])
    units = from_snapshot(snap)
    assert units is not None and units.kl_per_dim.shape == (tiny_model.latent_dim,)
    assert from_snapshot(take_snapshot(tiny_model, None, 1, 1, [])) is None
    with pytest.raises(InputError, match="same|both"):
        active_units(np.zeros((3, 2)), np.zeros((3, 3)))

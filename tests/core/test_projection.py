"""Projections of a latent space of more than two dimensions onto a plane."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from vae_explorer.core.latent import decode_latents
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.projection import (
    NeighbourProjection,
    PCAProjection,
    ProjectionError,
    cache_dir,
    neighbour_projection,
    weights_hash,
)


def _latents(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.array([3.0, 1.5, 0.3, 0.2, 0.1][:d])
    return (rng.normal(size=(n, d)) * scales + 1.0).astype(np.float32)


def test_pca_finds_the_main_axes_and_is_exactly_invertible_on_its_plane():
    z = _latents()
    pca = PCAProjection.fit(z)
    assert np.allclose(np.abs(pca.components[0]), [1, 0, 0, 0, 0], atol=0.05)
    assert np.allclose(np.abs(pca.components[1]), [0, 1, 0, 0, 0], atol=0.05)
    assert np.allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-9)
    assert pca.explained_ratio[0] > pca.explained_ratio[1] > 0 and pca.explained_ratio.sum() < 1
    xy = np.array([[0.5, -1.0], [2.0, 3.0]])
    codes = pca.from_plane(xy)
    assert np.allclose(codes, pca.mean + xy @ pca.components, atol=1e-6)
    assert np.allclose(pca.to_plane(codes), xy, atol=1e-5)
    # A click decodes the inverse-projected code.
    model = VAE(VAEConfig(latent_dim=5, hidden_dim=8))
    assert np.allclose(decode_latents(model, pca.from_plane([[0.5, -1.0]])), decode_latents(model, codes[:1]))


def test_pca_in_one_and_two_dimensions():
    one = PCAProjection.fit(np.arange(10, dtype=np.float32)[:, None])
    assert one.components.shape == (2, 1) and np.allclose(one.to_plane([[4.5]]), 0)
    two = PCAProjection.fit(_latents(d=2))
    assert np.allclose(two.to_plane(two.from_plane([[1, 2]])), [[1, 2]], atol=1e-5)
    with pytest.raises(ProjectionError, match="at least two"):
        PCAProjection.fit(np.zeros((1, 3)))


def test_nearest_code_is_the_nearest_test_points_code():
    z = _latents(n=4)
    proj = NeighbourProjection("tsne", np.array([[0, 0], [1, 0], [0, 1], [5, 5]], np.float32), z)
    assert proj.nearest_index([0.9, 0.2]) == 1
    assert np.array_equal(proj.nearest_code([4, 4]), z[3])


def test_a_missing_package_is_named(monkeypatch):
    import vae_explorer.core.projection as projection

    real = importlib.util.find_spec
    hidden = ("umap", "openTSNE", "sklearn")
    monkeypatch.setattr(
        projection.importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a)
    )
    with pytest.raises(ProjectionError, match="pip install"):
        neighbour_projection(_latents(), "umap")
    with pytest.raises(ProjectionError, match="openTSNE"):
        neighbour_projection(_latents(), "tsne")
    with pytest.raises(ProjectionError, match="unknown projection"):
        neighbour_projection(_latents(), "mds")


@pytest.mark.slow
def test_tsne_is_computed_with_progress_and_cached_per_model(monkeypatch):
    if importlib.util.find_spec("openTSNE") is None and importlib.util.find_spec("sklearn") is None:
        pytest.skip("no t-SNE package installed (pip install openTSNE)")
    z = _latents(n=200)
    model = VAE(VAEConfig(latent_dim=5, hidden_dim=8))
    key = weights_hash(model)
    seen = []
    proj = neighbour_projection(z, "tsne", key, progress=lambda f, text: seen.append(f))
    assert proj.embedding.shape == (200, 2) and np.isfinite(proj.embedding).all()
    assert seen[0] == 0.0 and seen[-1] == 1.0 and len(seen) > 2
    assert len(list(cache_dir().glob("tsne-*.npy"))) == 1
    # Second time: from the cache (the computation would fail if it ran).
    import vae_explorer.core.projection as projection

    monkeypatch.setattr(projection, "_tsne", lambda *a: pytest.fail("recomputed"))
    again = neighbour_projection(z, "tsne", key)
    assert np.array_equal(again.embedding, proj.embedding)
    # Other weights: another cache entry.
    other = VAE(VAEConfig(latent_dim=5, hidden_dim=8))
    assert weights_hash(other) != key


def test_installed_methods_are_looked_up_again_after_a_while(monkeypatch):
    """A package installed while the app runs is found once the cached look-up expires."""
    import vae_explorer.core.projection as projection

    installed: set[str] = set()
    monkeypatch.setattr(
        projection.importlib.util, "find_spec", lambda name, *a: object() if name in installed else None
    )
    monkeypatch.setattr(projection, "_probed", None)
    assert projection.available_methods() == ()
    installed.add("umap")
    assert projection.available_methods() == ()  # the look-up holds for a while
    monkeypatch.setattr(projection, "PROBE_INTERVAL_S", -1.0)
    assert projection.available_methods() == ("umap",)

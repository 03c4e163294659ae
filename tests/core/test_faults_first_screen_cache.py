"""A checkpoint's cached first screen is a shortcut: any array in it that is damaged
(non-finite, out of range, misshapen) is dropped, as if the cache lacked it."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.first_screen import (
    GRID_ARRAY,
    PALETTE_ARRAY,
    PREVIEW_ARRAY,
    palette_rgb,
    usable_first_screen,
    usable_palette,
)


def _good(n: int = 12, dim: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "test_mu": rng.normal(size=(n, dim)).astype(np.float32),
        "test_logvar": rng.normal(size=(n, dim)).astype(np.float32),
        GRID_ARRAY: np.zeros((28 * 15, 28 * 15), np.uint8),
        PREVIEW_ARRAY: np.zeros((28, 28), np.uint8),
        PALETTE_ARRAY: palette_rgb(),
        "history/epochs": np.array([1, 2], np.int32),  # not part of the cache: untouched
    }


def test_a_sound_cache_passes_whole():
    good = _good()
    kept = usable_first_screen(good, latent_dim=2)
    assert sorted(kept) == sorted(good)
    for name, value in good.items():
        np.testing.assert_array_equal(kept[name], value)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        (PALETTE_ARRAY, np.full((10, 3), np.nan, np.float32)),
        (PALETTE_ARRAY, np.full((10, 3), 1e9, np.float64)),
        (PALETTE_ARRAY, np.full((10, 3), -5, np.int32)),
        (PALETTE_ARRAY, np.zeros((0, 3), np.uint8)),
        (PALETTE_ARRAY, np.zeros((10, 4), np.uint8)),
        (PALETTE_ARRAY, np.full((10, 3), 0.5, np.float32)),
        (GRID_ARRAY, np.zeros((1_000_000, 1), np.uint8)),
        (GRID_ARRAY, np.zeros(5, np.uint8)),
        (GRID_ARRAY, np.full((28, 28), 300, np.int32)),
        (PREVIEW_ARRAY, np.full((28, 28), np.nan, np.float32)),
        (PREVIEW_ARRAY, np.zeros((29, 28), np.uint8)),
        ("test_mu", np.full((12, 2), np.nan, np.float32)),
        ("test_mu", np.full((12, 2), 1e300, np.float64)),  # inf as float32
        ("test_mu", np.zeros((12, 3), np.float32)),
        ("test_logvar", np.full((12, 2), np.inf, np.float32)),
        ("test_logvar", np.zeros((12, 2), np.complex64)),
    ],
)
def test_an_unusable_cached_array_is_dropped_and_the_rest_kept(name, bad):
    arrays = {**_good(), name: bad}
    kept = usable_first_screen(arrays, latent_dim=2)
    dropped = {"test_mu", "test_logvar"} if name.startswith("test_") else {name}
    assert set(arrays) - set(kept) == dropped
    assert "history/epochs" in kept


def test_latents_of_another_width_than_the_model_are_dropped():
    kept = usable_first_screen(_good(dim=3), latent_dim=2)
    assert "test_mu" not in kept and "test_logvar" not in kept
    assert "test_mu" in usable_first_screen(_good(dim=3), latent_dim=None)


def test_a_palette_of_whole_numbers_in_range_is_taken_as_bytes():
    rgb = usable_palette(palette_rgb().astype(np.float64))
    assert rgb is not None and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, palette_rgb())
    assert usable_palette(None) is None

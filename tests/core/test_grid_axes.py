"""Grid axes in both spacings: the one definition the grid panel and the overlay share."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.latent import GRID_SPACINGS, gaussian_grid_axis, grid_axes, tile_centres


def test_gaussian_spacing_is_the_inverse_normal_cdf_on_both_axes():
    xs, ys = grid_axes(5, "gaussian")
    # Phi^-1 of 0.05, 0.275, 0.5, 0.725, 0.95
    expected = [-1.6448536, -0.5977601, 0.0, 0.5977601, 1.6448536]
    assert np.allclose(xs, expected, atol=1e-6) and np.allclose(ys, expected, atol=1e-6)
    assert np.array_equal(xs, gaussian_grid_axis(5))
    xs[0] = 99  # the two axes are separate arrays
    assert ys[0] != 99


def test_visible_spacing_gives_the_tile_centres():
    xs, ys = grid_axes(4, "visible", ((-2.0, 2.0), (0.0, 8.0)))
    assert np.allclose(xs, [-1.5, -0.5, 0.5, 1.5])
    assert np.allclose(ys, [1.0, 3.0, 5.0, 7.0])
    assert np.allclose(tile_centres(0.0, 1.0, 1), [0.5])


def test_spacings_are_named_and_checked():
    assert GRID_SPACINGS == ("gaussian", "visible")
    with pytest.raises(ValueError, match="visible range"):
        grid_axes(3, "visible")
    with pytest.raises(ValueError, match="spacing"):
        grid_axes(3, "linear")
    with pytest.raises(ValueError):
        grid_axes(0, "visible", ((0, 1), (0, 1)))

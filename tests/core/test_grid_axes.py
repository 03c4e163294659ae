"""Grid axes in both spacings: the one definition the grid panel and the overlay share."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.latent import (
    GRID_SPACINGS,
    MAX_GRID_ASPECT,
    gaussian_grid_axis,
    grid_axes,
    square_tiles,
    tile_centres,
)


def test_gaussian_spacing_is_the_inverse_normal_cdf_on_both_axes():
    xs, ys = grid_axes(5, "gaussian")
    # Phi^-1 of 0.05, 0.275, 0.5, 0.725, 0.95
    expected = [-1.6448536, -0.5977601, 0.0, 0.5977601, 1.6448536]
    assert np.allclose(xs, expected, atol=1e-6) and np.allclose(ys, expected, atol=1e-6)
    assert np.array_equal(xs, gaussian_grid_axis(5))
    xs[0] = 99  # the two axes are separate arrays
    assert ys[0] != 99


def test_visible_spacing_gives_the_centres_of_square_tiles():
    """N along the shorter side, square tiles along the longer: an N x N grid over a range
    twice as tall as wide drew every digit twice as tall as wide over the scatter."""
    xs, ys = grid_axes(4, "visible", ((-2.0, 2.0), (0.0, 4.0)))
    assert np.allclose(xs, [-1.5, -0.5, 0.5, 1.5])
    assert np.allclose(ys, [0.5, 1.5, 2.5, 3.5])
    xs, ys = grid_axes(4, "visible", ((-2.0, 2.0), (0.0, 8.0)))  # twice as tall: 4 x 8
    assert np.allclose(xs, [-1.5, -0.5, 0.5, 1.5])
    assert np.allclose(ys, np.arange(8) + 0.5)
    xs, ys = grid_axes(5, "visible", ((0.0, 7.0), (0.0, 5.0)))  # 7/5 wider: 7 columns, 5 rows
    assert np.allclose(xs, np.arange(7) + 0.5) and np.allclose(ys, np.arange(5) + 0.5)
    assert np.allclose(tile_centres(0.0, 1.0, 1), [0.5])


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(3.0, 3.0, (15, 15)), (4.5, 3.0, (22, 15)), (3.0, 4.6, (15, 23)),
     (1.0, 100.0, (15, 15 * MAX_GRID_ASPECT)), (0.0, 3.0, (15, 15)), (float("inf"), 3.0, (15, 15)),
     (float("nan"), 1.0, (15, 15))],
)  # fmt: skip
def test_square_tiles_put_n_along_the_shorter_side(width, height, expected):
    assert square_tiles(15, width, height) == expected


def test_spacings_are_named_and_checked():
    assert GRID_SPACINGS == ("gaussian", "visible")
    with pytest.raises(ValueError, match="visible range"):
        grid_axes(3, "visible")
    with pytest.raises(ValueError, match="spacing"):
        grid_axes(3, "linear")
    with pytest.raises(ValueError):
        grid_axes(0, "visible", ((0, 1), (0, 1)))

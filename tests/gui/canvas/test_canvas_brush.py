"""The canvas brush maths (numpy only): footprints, clipping, ink/eraser/mask updates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vae_explorer.gui.canvas import brush


def test_unit_brush_covers_exactly_one_pixel():
    cover = brush.footprint(5.5, 7.5, 5.5, 7.5, radius=0.5)
    assert cover[7, 5] == 1.0
    cover[7, 5] = 0
    assert not cover.any()


def test_size_three_dab_profile():
    # radius 1.5, softness 1: full to distance 1, 0 from distance 2, linear in between.
    cover = brush.footprint(10.5, 10.5, 10.5, 10.5, radius=1.5)
    corner = 2.0 - math.sqrt(2.0)
    expected = np.array([[corner, 1, corner], [1, 1, 1], [corner, 1, corner]], np.float32)
    np.testing.assert_allclose(cover[9:12, 9:12], expected, atol=1e-6)
    cover[9:12, 9:12] = 0
    assert not cover.any()


def test_segment_covers_every_pixel_between_its_ends():
    cover = brush.footprint(2.5, 4.5, 20.5, 4.5, radius=0.5)
    assert np.array_equal(np.argwhere(cover > 0), [[4, c] for c in range(2, 21)])


@pytest.mark.parametrize(
    "coords",
    [
        (-50.0, -50.0, -40.0, -40.0),
        (100.0, 3.0, 200.0, 3.0),
        (1e30, 1e30, -1e30, 1e30),
        (math.nan, 3.0, 4.0, 5.0),
        (math.inf, 3.0, 4.0, 5.0),
    ],
)
def test_points_outside_the_canvas_touch_nothing(coords):
    cover = brush.footprint(*coords, radius=3)
    assert cover.shape == (28, 28) and not cover.any()


def test_segment_from_outside_is_clipped_to_the_canvas():
    cover = brush.footprint(-10.0, 0.5, 3.5, 0.5, radius=0.5)
    assert np.array_equal(np.argwhere(cover > 0), [[0, 0], [0, 1], [0, 2], [0, 3]])


def test_ink_takes_the_maximum_and_eraser_scales_down():
    ink = np.full((28, 28), 0.4, np.float32)
    cover = np.zeros((28, 28), np.float32)
    cover[0, 0], cover[0, 1] = 1.0, 0.2
    painted = brush.apply_ink(ink, cover)
    assert painted[0, 0] == 1.0 and painted[0, 1] == pytest.approx(0.4) and painted[5, 5] == 0.4
    erased = brush.apply_eraser(painted, cover)
    assert erased[0, 0] == 0.0 and erased[0, 1] == pytest.approx(0.32)


def test_mask_marks_and_unmarks_half_covered_pixels():
    mask = np.zeros((28, 28), bool)
    cover = np.zeros((28, 28), np.float32)
    cover[1, 1], cover[1, 2] = 0.5, 0.49
    marked = brush.apply_mask(mask, cover)
    assert np.argwhere(marked).tolist() == [[1, 1]]
    assert not brush.apply_mask(marked, cover, missing=False).any()

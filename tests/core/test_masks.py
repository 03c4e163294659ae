"""Named masks: shapes, counts, the seed's middle rows, seeded random masks."""

import numpy as np
import pytest

from vae_explorer.core.masks import MASK_NAMES, make_mask, mask_image, middle_rows, random_mask


@pytest.mark.parametrize("name", MASK_NAMES)
def test_every_named_mask_has_the_documented_shapes(name):
    one = mask_image(name)
    assert one.shape == (28, 28) and one.dtype == bool
    many = make_mask(name, n=5)
    assert many.shape == (5, 784) and many.dtype == bool
    assert 0 < many.sum(1).min() < 784


@pytest.mark.parametrize(
    ("name", "count"),
    [("middle_rows", 10 * 28), ("left_half", 14 * 28), ("bottom_half", 14 * 28),
     ("centre_square", 14 * 14), ("random", 392)],
)  # fmt: skip
def test_missing_pixel_counts(name, count):
    assert (make_mask(name, n=3).sum(1) == count).all()


def test_middle_rows_removes_rows_9_to_18():
    m = middle_rows()
    assert m[9:19].all() and not m[:9].any() and not m[19:].any()


def test_left_half_and_bottom_half_are_where_they_say():
    left = mask_image("left_half")
    bottom = mask_image("bottom_half")
    assert left[:, :14].all() and not left[:, 14:].any()
    assert bottom[14:].all() and not bottom[:14].any()
    assert mask_image("centre_square")[7:21, 7:21].all()


def test_random_masks_are_seeded_exact_and_differ_per_image():
    a = make_mask("random", n=4, fraction=0.25, seed=3)
    b = make_mask("random", n=4, fraction=0.25, seed=3)
    c = make_mask("random", n=4, fraction=0.25, seed=4)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert (a.sum(1) == 196).all()
    assert (a[0] != a[1]).any()
    assert random_mask(0.0).sum() == 0 and random_mask(1.0).all()


def test_names_are_forgiving_about_spelling_but_reject_unknown_ones():
    np.testing.assert_array_equal(make_mask("middle-rows"), make_mask("middle_rows"))
    np.testing.assert_array_equal(make_mask("center_square"), make_mask("centre_square"))
    with pytest.raises(ValueError, match="unknown mask"):
        make_mask("top_left")
    with pytest.raises(ValueError, match="fraction"):
        make_mask("random", fraction=1.5)


def test_every_mask_has_a_label_and_a_preset():
    from vae_explorer.core.masks import MASK_DESCRIPTIONS, MASK_LABELS, preset_mask

    assert tuple(MASK_LABELS) == MASK_NAMES and tuple(MASK_DESCRIPTIONS) == MASK_NAMES
    assert MASK_LABELS["middle_rows"] == "Middle rows" and MASK_LABELS["random"] == "Random 50%"
    for name in MASK_NAMES:
        m = preset_mask(name, seed=4)
        assert m.shape == (28, 28) and m.dtype == bool
        assert np.array_equal(m, make_mask(name, 1, fraction=0.5, seed=4)[0].reshape(28, 28))
    assert preset_mask("random", 1).sum() == 392
    assert not np.array_equal(preset_mask("random", 1), preset_mask("random", 2))

"""Canvas drawings framed as MNIST's digits were: ink scaled to a 20 x 20 box, centre of
mass at the centre of the 28 x 28 field."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.framing import BOX, frame_like_mnist


def ink_box(image: np.ndarray) -> tuple[int, int]:
    ink = image.reshape(28, 28) > 0.05
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    img = image.reshape(28, 28)
    ys, xs = np.indices(img.shape)
    return float((ys * img).sum() / img.sum()), float((xs * img).sum() / img.sum())


@pytest.mark.parametrize(
    "rows, cols",
    [(slice(0, 6), slice(0, 4)), (slice(2, 28), slice(1, 27)), (slice(20, 27), slice(5, 9))],
)
def test_a_drawing_anywhere_and_of_any_size_is_framed_as_mnist_digits_are(rows, cols):
    drawing = np.zeros((28, 28), np.float32)
    drawing[rows, cols] = 1.0
    framed = frame_like_mnist(drawing)
    assert framed.shape == (784,) and framed.dtype == np.float32
    assert 0.0 <= framed.min() and framed.max() <= 1.0
    assert abs(max(ink_box(framed)) - BOX) <= 1  # the longer side fills the 20 px box
    h, w = ink_box(framed)
    src_h, src_w = ink_box(drawing)
    assert abs(h / w - src_h / src_w) < 0.25 * max(1.0, src_h / src_w)  # the aspect is kept
    cy, cx = centre_of_mass(framed)
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6


def test_a_real_mnist_digit_comes_back_as_it_was_give_or_take_a_pixel(mnist_test):
    """MNIST's own digits are framed already: at most a pixel's shift (rounding the centre)."""
    for digit in mnist_test.images[:20].astype(np.float32) / 255:
        framed = frame_like_mnist(digit).reshape(28, 28)
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        best = min(np.abs(np.roll(framed, s, axis=(0, 1)) - digit).mean() for s in shifts)
        assert best < 0.02


def test_a_blank_canvas_stays_blank():
    assert not frame_like_mnist(np.zeros(784)).any()

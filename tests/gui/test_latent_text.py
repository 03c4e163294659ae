"""Latent codes read the same in every label: signed, two decimals, a true minus sign."""

import numpy as np

from vae_explorer.gui.latent_text import coordinate_text, vector_text


def test_coordinates_are_signed_with_a_true_minus():
    assert coordinate_text(1.049) == "+1.05"
    assert coordinate_text(-0.3) == "\u22120.30"
    assert coordinate_text(0.0) == "+0.00"
    assert coordinate_text(2.5, signed=False) == "2.50"


def test_vectors_show_the_first_dimensions_then_an_ellipsis():
    assert vector_text(np.array([0.5, -1.25], np.float32)) == "(+0.50, \u22121.25)"
    assert vector_text([0, 1, 2, 3]) == "(+0.00, +1.00, +2.00, …)"
    assert vector_text(np.arange(4.0), shown=4) == "(+0.00, +1.00, +2.00, +3.00)"
    assert vector_text(np.ones((1, 2)), signed=False) == "(1.00, 1.00)"


def test_a_long_code_is_named_by_its_largest_coordinates():
    """A 10-d plane point out on z[8], z[9] read "(+0.00, +0.00, +0.00, …)"."""
    from vae_explorer.gui.latent_text import salient_text

    z = np.zeros(10)
    z[8], z[9] = 2.1, -2.1
    assert salient_text(z) == "(z[8] +2.10, z[9] \u22122.10, others 0)"
    z[2] = 0.31
    assert salient_text(z, shown=2) == "(z[8] +2.10, z[9] \u22122.10, …)"
    assert salient_text(z) == "(z[2] +0.31, z[8] +2.10, z[9] \u22122.10, others 0)"
    assert salient_text([0.5, -1.25]) == vector_text([0.5, -1.25])  # short: as it was
    assert salient_text(np.zeros(10)) == vector_text(np.zeros(10))  # nothing stands out
    assert salient_text([float("nan")] * 5) == vector_text([float("nan")] * 5)

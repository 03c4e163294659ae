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

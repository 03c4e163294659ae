"""The posterior view's Qt-free helpers (ellipses, mass contours) and the state's canvas image."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.gui.panels.posterior_job import density_image, gaussian_ellipse, mass_levels


@pytest.mark.parametrize("n_sigma", [1.0, 2.0])
def test_gaussian_ellipse_is_the_mahalanobis_contour(n_sigma):
    mean = np.array([0.5, -1.0])
    cov = np.array([[2.0, 0.9], [0.9, 0.7]])
    x, y = gaussian_ellipse(mean, cov, n_sigma, points=50)
    d = np.stack([x - mean[0], y - mean[1]])
    mahalanobis = np.sqrt(np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d))
    assert np.allclose(mahalanobis, n_sigma)
    assert x[0] == pytest.approx(x[-1]) and y[0] == pytest.approx(y[-1])  # closed
    spread = np.cov(np.stack([x[:-1], y[:-1]]))  # a tilted ellipse follows the correlation
    assert spread[0, 1] > 0


def test_mass_levels_enclose_the_asked_mass_of_a_gaussian():
    xs = np.linspace(-6, 6, 301)
    gx, gy = np.meshgrid(xs, xs)
    log_d = -0.5 * (gx**2 + (gy / 0.5) ** 2)
    levels = mass_levels(log_d, (0.5, 0.9))
    # A 2-d Gaussian's highest-density region of mass m is where density / peak >= 1 - m.
    assert levels == pytest.approx([0.5, 0.1], rel=0.03)
    image = density_image(log_d)
    assert image.max() == pytest.approx(1.0) and image.dtype == np.float32
    for level, mass in zip(levels, (0.5, 0.9), strict=True):
        assert image[image >= level].sum() / image.sum() == pytest.approx(mass, abs=0.01)


def test_state_canvas_image_validates_converts_and_signals(qtbot):
    from vae_explorer.gui.state import ExplorerState

    s = ExplorerState()
    assert s.canvas_image is None
    drawing = np.zeros((28, 28), np.uint8)
    drawing[10:15, 10:15] = 255
    with qtbot.waitSignal(s.canvasImageChanged):
        s.set_canvas_image(drawing)
    assert s.canvas_image.shape == (784,) and s.canvas_image.dtype == np.float32
    assert s.canvas_image.max() == 1.0 and s.canvas_image.sum() == 25
    with qtbot.assertNotEmitted(s.canvasImageChanged):
        s.set_canvas_image(drawing.astype(np.float32) / 255.0)  # the same pixels
    with pytest.raises(ValueError, match="784 pixels.*\\(27, 27\\)"):
        s.set_canvas_image(np.zeros((27, 27), np.float32))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        s.set_canvas_image(np.full(784, np.nan, np.float32))
    assert s.canvas_image.sum() == 25  # a bad image leaves the drawing as it was
    with qtbot.waitSignal(s.canvasImageChanged):
        s.set_canvas_image(None)
    assert s.canvas_image is None

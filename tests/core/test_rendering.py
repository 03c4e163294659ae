"""The numpy helpers behind the explorer's views."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from vae_explorer.core.rendering import (
    ema_smooth,
    eta_seconds,
    format_duration,
    latent_plane,
    nearest_point,
    posterior_ellipse,
    write_latents_csv,
)


def test_ema_smooth_is_identity_at_zero_and_debiased():
    v = np.array([10.0, 10.0, 10.0, 0.0])
    np.testing.assert_array_equal(ema_smooth(v, 0.0), v)
    s = ema_smooth(v, 0.9)
    assert s[0] == pytest.approx(10.0)  # bias correction: no pull towards 0 at the start
    assert s[2] == pytest.approx(10.0)
    assert 0 < s[3] < 10
    with pytest.raises(ValueError):
        ema_smooth(v, 1.0)


def test_posterior_ellipse_axes_are_the_standard_deviations():
    x, y = posterior_ellipse([1.0, -2.0], np.log([4.0, 0.25]), n_sigma=2.0)
    assert x.max() - x.min() == pytest.approx(2 * 2 * 2.0)
    assert y.max() - y.min() == pytest.approx(2 * 2 * 0.5)
    assert (x[0], y[0]) == pytest.approx((x[-1], y[-1]))  # closed
    assert (x.max() + x.min()) / 2 == pytest.approx(1.0)


def test_nearest_point_uses_screen_scales_and_visibility():
    xs, ys = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 10.0])
    assert nearest_point(xs, ys, 0.9, 0.0)[0] == 1
    # y squeezed 100x on screen: the far point in data units is the nearest in pixels.
    assert nearest_point(xs, ys, 0.0, 9.0, scale_x=1.0, scale_y=100.0)[0] in (0, 2)
    i, d = nearest_point(xs, ys, 0.9, 0.0, visible=np.array([True, False, True]))
    assert i == 0 and d == pytest.approx(0.9)
    assert nearest_point(xs, ys, 0, 0, visible=np.zeros(3, bool)) == (-1, math.inf)


def test_eta_and_duration():
    assert eta_seconds(0, 100, 5.0) is None
    assert eta_seconds(25, 100, 10.0) == pytest.approx(30.0)
    assert eta_seconds(100, 100, 10.0) == 0.0
    assert format_duration(65) == "1:05"
    assert format_duration(3723) == "1:02:03"
    assert format_duration(None) == "--"


def test_latent_plane_holds_other_dims_at_zero():
    np.testing.assert_array_equal(latent_plane([1.5, -2.0], 4, (3, 1)), [0, -2.0, 0, 1.5])
    np.testing.assert_array_equal(latent_plane([0.5, 9.0], 1, (0, 0)), [0.5])


def test_write_latents_csv(tmp_path):
    mu = np.array([[0.5, -1.0], [2.0, 3.0]], np.float32)
    path = write_latents_csv(
        tmp_path / "z.csv", mu, mu * 0 - 1, np.array([3, 7]), [str(i) for i in range(10)]
    )
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["index", "label", "class", "mu_0", "mu_1", "logvar_0", "logvar_1"]
    assert rows[2] == ["1", "7", "7", "2", "3", "-1", "-1"]

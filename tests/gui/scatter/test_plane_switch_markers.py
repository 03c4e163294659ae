"""On every change of the scatter's plane (two axes <-> PCA plane) each marker is placed at
its own code's place on the new plane at once: the crosshair at the current z, the canvas
drawing's star (and its ellipses, projected on the PCA plane), the hover card with its
point, the walk's path. Nothing keeps the coordinates it had on the plane before."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.projection import PCAProjection


@pytest.fixture(scope="module")
def wide_checkpoint(tmp_path_factory):
    torch.manual_seed(5)
    path = tmp_path_factory.mktemp("wide") / "z6.safetensors"
    return save_checkpoint(VAE(VAEConfig(latent_dim=6, hidden_dim=32)), path, {"dataset": "mnist"})


@pytest.fixture
def wide(make_window, wide_checkpoint, qtbot):
    w = make_window(wide_checkpoint)
    w.canvas.load_test_digit(3)
    qtbot.waitUntil(lambda: w.state.canvas_posterior is not None, timeout=5000)
    # A posterior wide enough that its ellipses are drawn at their true size, not the floor.
    mu, _ = w.state.canvas_posterior
    logvar = np.log(np.linspace(0.2, 1.5, len(mu)) ** 2).astype(np.float32)
    w.state.set_canvas_posterior(mu, logvar)
    return w


def settle(qtbot) -> None:
    QApplication.processEvents()
    qtbot.wait(30)  # (the view's autorange follows a plane change on its next pass)
    QApplication.processEvents()


def marker_xy(item) -> tuple[float, float]:
    return item.pos().x(), item.pos().y()


def half_extent(marker, ellipse) -> tuple[float, float]:
    r = marker.mapRectToParent(ellipse.path().boundingRect())
    return r.width() / 2, r.height() / 2


def check_on_axes(w) -> None:
    s, state = w.scatter, w.state
    x, y = state.dims
    z = state.current_z
    mu, logvar = state.canvas_posterior
    assert s.crosshair_pos() == pytest.approx((z[x], z[y]), abs=1e-5)
    marker = s.posterior_marker
    assert marker.isVisible() and marker.star.isVisible() and marker.ellipse_1sd.isVisible()
    assert marker_xy(marker) == pytest.approx((mu[x], mu[y]), abs=1e-5)
    sd = np.exp(0.5 * logvar)
    assert half_extent(marker, marker.ellipse_1sd) == pytest.approx((sd[x], sd[y]), rel=2e-3)


def check_on_pca(w) -> None:
    s, state = w.scatter, w.state
    pca = PCAProjection.fit(state.latents[0])
    mu, logvar = state.canvas_posterior
    assert s.crosshair_pos() == pytest.approx(tuple(pca.to_plane(state.current_z[None])[0]), abs=1e-4)
    marker = s.posterior_marker
    assert marker.isVisible() and marker.star.isVisible(), "no canvas star on the PCA plane"
    assert marker_xy(marker) == pytest.approx(tuple(pca.to_plane(mu[None])[0]), abs=1e-4)
    # Its ellipses: the projection of the diagonal Gaussian on the plane (tilted).
    cov = (pca.components * np.exp(logvar)) @ pca.components.T
    assert marker.ellipse_1sd.isVisible() and marker.ellipse_2sd.isVisible()
    expected = np.sqrt(np.diag(cov))  # an ellipse's half extent along x and y
    assert half_extent(marker, marker.ellipse_1sd) == pytest.approx(tuple(expected), rel=5e-3)
    assert half_extent(marker, marker.ellipse_2sd) == pytest.approx(tuple(2 * expected), rel=5e-3)


def test_back_on_the_axes_the_crosshair_and_star_are_at_their_codes(wide, qtbot):
    """A click at (-2, -2) on the PCA plane, then "Two axes": the crosshair at z's own two
    dims (not at (-2, -2) carried over) and the canvas star back, at once."""
    w, state = wide, wide.state
    w.scatter_plane.choose("pca")
    settle(qtbot)
    state.set_current_z_from_plane((-2.0, -2.0))
    z = state.current_z.copy()
    w.scatter_plane.choose("axes")
    settle(qtbot)
    np.testing.assert_array_equal(state.current_z, z)  # z itself never changed
    x, y = state.dims
    assert (z[x], z[y]) != pytest.approx((-2.0, -2.0), abs=0.05)
    check_on_axes(w)


def test_every_marker_moves_to_its_place_on_the_new_plane(wide, qtbot):
    w, state = wide, wide.state
    check_on_axes(w)
    w.scatter_plane.choose("pca")
    settle(qtbot)
    check_on_pca(w)

    state.set_current_z_from_plane((-2.0, -2.0))  # a click on the plane
    z = state.current_z.copy()
    check_on_pca(w)
    w.scatter_plane.choose("axes")  # the crosshair goes where z is on the axes, not to (-2, -2)
    settle(qtbot)
    np.testing.assert_array_equal(state.current_z, z)  # z itself never changed
    check_on_axes(w)
    w.scatter_plane.choose("pca")
    settle(qtbot)
    check_on_pca(w)
    w.scatter_plane.choose("axes")
    settle(qtbot)
    check_on_axes(w)


def test_the_hover_card_and_the_walk_follow_a_plane_change(wide, qtbot):
    w, s, state = wide, wide.scatter, wide.state
    w.walk.walk_between(w.walk.test_image_end(0), w.walk.test_image_end(1))
    mu = state.latents[0]

    def card_at_its_point(i: int) -> None:
        xs, ys = s.cloud.points()
        at = s.data_to_viewport(float(xs[i]), float(ys[i]))
        before = s.hover.pos()
        s.hover.place(at)  # where it belongs: placing it again does not move it
        assert s.hover.pos() == before

    def walk_ends(xy: np.ndarray) -> None:
        path = w.walk_path_item.getData()
        assert (path[0][0], path[1][0]) == pytest.approx(tuple(xy[0]), abs=1e-4)
        assert (path[0][-1], path[1][-1]) == pytest.approx(tuple(xy[1]), abs=1e-4)

    x, y = state.dims
    i = int(np.argmin(np.hypot(mu[:, x] - np.median(mu[:, x]), mu[:, y] - np.median(mu[:, y]))))
    s.hovering.show_for(i)
    assert s.hover.isVisible()
    walk_ends(mu[[0, 1]][:, [x, y]])
    w.scatter_plane.choose("pca")
    settle(qtbot)
    pca = PCAProjection.fit(mu)
    walk_ends(pca.to_plane(mu[[0, 1]]))
    assert s.hover.isVisible() and s.hover.index == i
    card_at_its_point(i)
    w.scatter_plane.choose("axes")
    settle(qtbot)
    walk_ends(mu[[0, 1]][:, [x, y]])
    assert s.hover.isVisible() and s.hover.index == i
    card_at_its_point(i)


def test_on_a_map_the_star_is_at_the_nearest_test_point_without_ellipses(wide, qtbot):
    from vae_explorer.core.projection import NeighbourProjection

    w, s, state = wide, wide.scatter, wide.state
    mu = state.latents[0]
    layout = np.random.default_rng(1).normal(size=(len(mu), 2)).astype(np.float32)
    assert state.plane.set_map(NeighbourProjection("umap", layout, np.asarray(mu, np.float32)))
    settle(qtbot)
    canvas_mu = state.canvas_posterior[0]
    nearest = int(np.argmin(((mu - canvas_mu) ** 2).sum(axis=1)))
    marker = s.posterior_marker
    assert marker.isVisible() and marker.star.isVisible()
    assert marker_xy(marker) == pytest.approx(tuple(layout[nearest]), abs=1e-5)
    assert not marker.ellipse_1sd.isVisible() and not marker.ellipse_2sd.isVisible()
    w.scatter_plane.choose("axes")
    settle(qtbot)
    check_on_axes(w)

"""The scatter beyond two axes: on the PCA plane a click decodes mean + x pc1 + y pc2; a
neighbour map (computed in a Worker) decodes the nearest test point's code and says so;
a missing package says how to install it; a 2-d model offers only its axes."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from gui_helpers import data_pos, decode
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.projection import NeighbourProjection, PCAProjection

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def wide_checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("wide") / "z5.safetensors"
    return save_checkpoint(VAE(VAEConfig(latent_dim=5, hidden_dim=32)), path, {"dataset": "mnist"})


@pytest.fixture
def wide_window(make_window, wide_checkpoint):
    return make_window(wide_checkpoint)


def click(qtbot, window, x: float, y: float) -> None:
    window.scatter.vb.setRange(xRange=(x - 1, x + 1), yRange=(y - 1, y + 1), padding=0)
    QApplication.processEvents()
    qtbot.mouseClick(window.scatter.plot.viewport(), LEFT, pos=data_pos(window, x, y).toPoint())


def test_pca_plane_click_decodes_the_inverse_projected_code(qtbot, wide_window):
    w, state = wide_window, wide_window.state
    assert w.scatter_plane.combo.isVisible()
    w.scatter_plane.choose("pca")
    assert state.plane.kind == "pca"
    mu = state.latents[0]
    pca = PCAProjection.fit(mu)
    x, y = w.scatter.cloud.points()
    np.testing.assert_allclose(np.stack([x, y], 1), pca.to_plane(mu), atol=1e-4)
    assert "PC 1" in w.scatter.plot.getPlotItem().getAxis("bottom").labelText

    click(qtbot, w, 0.3, -0.2)
    z = state.current_z
    np.testing.assert_allclose(z, pca.from_plane([[0.3, -0.2]])[0], atol=5e-3)  # a pixel's slack
    np.testing.assert_allclose(pca.to_plane(z[None])[0], w.scatter.crosshair_pos(), atol=1e-4)
    np.testing.assert_allclose(w.preview.canvas.image(), decode(state.model, z), atol=1e-6)
    assert not w.scatter.x_dim.isEnabled() and w.scatter.overlay_check.isEnabled()

    w.scatter_plane.choose("axes")
    x, _ = w.scatter.cloud.points()
    np.testing.assert_allclose(x, mu[:, state.dims[0]])


def test_the_latent_grid_lies_on_the_pca_plane(qtbot, wide_window):
    w, state = wide_window, wide_window.state
    on_axes = state.decoded_grid()
    w.scatter_plane.choose("pca")
    pca = PCAProjection.fit(state.latents[0])
    grid = state.decoded_grid()
    top_left = pca.from_plane([[grid.xs[0], grid.ys[-1]]])[0]  # row 0 is the top row
    np.testing.assert_allclose(grid.tile_latent(0, 0), top_left, atol=1e-5)
    points = np.stack(np.meshgrid(grid.xs, grid.ys[::-1]), -1).reshape(-1, 2)
    np.testing.assert_allclose(pca.to_plane(grid.z), points, atol=1e-4)
    assert not np.allclose(grid.mosaic, on_axes.mosaic, atol=1e-3)
    np.testing.assert_allclose(w.grid.mosaic, grid.mosaic)  # the dock shows the plane's grid
    w.scatter.overlay_check.setChecked(True)  # and the overlay lies on the plane with it
    assert state.overlay and w.scatter.overlay.isVisible()
    w.scatter_plane.choose("axes")
    np.testing.assert_allclose(state.decoded_grid("gaussian").mosaic, on_axes.mosaic)
    others = [d for d in range(state.latent_dim) if d not in state.dims]
    assert not w.grid.tile_latent(0, 0)[others].any()  # back on the axes: the other dims at 0


def test_neighbour_map_in_a_worker_decodes_the_nearest_test_code(qtbot, wide_window, monkeypatch):
    import vae_explorer.core.projection as projection

    w, state = wide_window, wide_window.state
    mu = state.latents[0]
    layout = np.random.default_rng(0).normal(size=(len(mu), 2)).astype(np.float32)

    def fake(latents, method="umap", model_key=None, seed=0, progress=None):
        progress(0.5, "t-SNE: optimising")
        return NeighbourProjection(method, layout, np.asarray(latents, np.float32))

    monkeypatch.setattr(projection, "neighbour_projection", fake)
    with qtbot.waitSignal(state.plane.changed, timeout=10_000):
        w.scatter_plane.choose("tsne")
    assert state.plane.kind == "tsne" and "nearest test image" in w.scatter_plane.status.text()
    np.testing.assert_allclose(np.stack(w.scatter.cloud.points(), 1), layout)
    target = int(np.argmax(layout[:, 0]))  # an outlying point: nothing else near it
    click(qtbot, w, float(layout[target, 0]), float(layout[target, 1]))
    np.testing.assert_array_equal(state.current_z, mu[target])

    # A new model's latents do not belong to the map: back to the PCA plane, said so.
    torch.manual_seed(9)
    state.set_model(VAE(VAEConfig(latent_dim=5, hidden_dim=32)), {}, None)
    assert state.plane.kind == "pca" and "compute t-SNE again" in state.plane.note


def test_missing_package_says_how_to_install(qtbot, wide_window, monkeypatch):
    import vae_explorer.gui.scatter.projection as view_projection

    monkeypatch.setattr(view_projection, "available_methods", lambda: [])
    plane = wide_window.scatter_plane
    plane._offer_kinds()
    model = plane.combo.model()
    row = plane.combo.findData("umap")
    assert "not installed" in plane.combo.itemText(row)
    assert "pip install" in model.item(row).toolTip() and not model.item(row).isEnabled()


def test_two_dimensional_model_offers_only_its_axes(window):
    assert not window.scatter_plane.combo.isVisible()
    assert window.state.plane.kind == "axes"


def test_closing_the_window_stops_a_map_at_its_next_report(qtbot, wide_window, monkeypatch):
    import vae_explorer.core.projection as projection
    from vae_explorer.gui.workers import running_workers

    reports: list[int] = []

    def slow(latents, method="umap", model_key=None, seed=0, progress=None):
        while len(reports) < 1000:  # t-SNE reports every few iterations
            progress(len(reports) / 1000, "t-SNE: optimising")
            reports.append(1)
            time.sleep(0.01)
        return NeighbourProjection(method, np.zeros((len(latents), 2), np.float32), latents)

    monkeypatch.setattr(projection, "neighbour_projection", slow)
    w = wide_window
    w.scatter_plane.choose("tsne")
    qtbot.waitUntil(lambda: len(reports) > 2, timeout=10_000)
    w.close()
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=5_000)
    assert len(reports) < 1000 and w.state.plane.kind != "tsne"


@pytest.mark.parametrize("kind", ["pca", "umap"])
def test_a_model_of_another_latent_size_opened_on_a_plane_shows_without_errors(
    qtbot, wide_window, small_checkpoint, tmp_path, kind, monkeypatch
):
    """Opening a 2-d (or a wider) model while the 5-d model's PCA plane or map was on show
    raised from the latent grid and the scatter (a 5-d plane met 2-d latents)."""
    w, state = wide_window, wide_window.state
    w.grid_dock.show()  # the grid redraws on every change it sees
    if kind == "pca":
        w.scatter_plane.choose("pca")
    else:
        state.plane.set_map(NeighbourProjection(kind, state.latents[0][:, :2].copy(), state.latents[0]))
    assert state.plane.kind == kind
    assert w.open_model(small_checkpoint)  # slots raising here fail the test (pytest-qt)
    QApplication.processEvents()
    assert state.latent_dim == 2 and state.plane.is_axes
    x, y = w.scatter.cloud.points()
    np.testing.assert_allclose(np.stack([x, y], 1), state.latents[0], atol=1e-6)
    assert w.grid.grid() is not None
    # ... and from 5-d to a wider model: its own PCA plane.
    w.open_model(wide_checkpoint_of(tmp_path, 7))
    w.scatter_plane.choose("pca")
    w.open_model(wide_checkpoint_of(tmp_path, 9))
    QApplication.processEvents()
    assert state.plane.kind == "pca" and state.plane.pca.mean.shape == (9,)
    assert w.grid.grid() is not None


def wide_checkpoint_of(folder, dim: int):
    torch.manual_seed(dim)
    path = folder / f"z{dim}.safetensors"
    return save_checkpoint(VAE(VAEConfig(latent_dim=dim, hidden_dim=32)), path, {"dataset": "mnist"})


def test_the_dim_combos_say_why_they_are_off(wide_window, small_checkpoint):
    from vae_explorer.gui.scatter.view import DIM_TIP, DIM_TIP_NARROW, DIM_TIP_PLANE

    w = wide_window
    combos = (w.scatter.x_dim, w.scatter.y_dim)
    assert all(c.isEnabled() and c.toolTip() == DIM_TIP for c in combos)
    w.scatter_plane.choose("pca")
    assert all(not c.isEnabled() and c.toolTip() == DIM_TIP_PLANE for c in combos)
    w.scatter_plane.choose("axes")
    assert all(c.isEnabled() for c in combos)
    assert w.open_model(small_checkpoint)  # two dims: both shown, nothing to choose
    assert all(not c.isEnabled() and c.toolTip() == DIM_TIP_NARROW for c in combos)

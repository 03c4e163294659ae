"""Latent grid and samples docks, open/save/export, dataset menu and settings."""

from __future__ import annotations

import numpy as np
from gui_helpers import decode
from PySide6.QtCore import QPoint, Qt

from vae_explorer.core.checkpoints import load_checkpoint


def _tile_center(canvas, n: int, row: int, col: int) -> QPoint:
    r = canvas.target_rect()
    return QPoint(int(r.x() + (col + 0.5) * r.width() / n), int(r.y() + (row + 0.5) * r.height() / n))


def test_clicking_a_grid_tile_decodes_its_z(window, qtbot):
    window.grid_dock.raise_()
    grid = window.grid
    grid.size_spin.setValue(10)
    assert grid.mosaic.shape == (280, 280)
    qtbot.mouseClick(grid.canvas, Qt.MouseButton.LeftButton, pos=_tile_center(grid.canvas, 10, 2, 7))
    z = window.preview.z
    np.testing.assert_allclose(z, grid.tile_latent(2, 7))
    h = grid.canvas._highlight
    assert (h.x(), h.y(), h.width()) == (7 * 28, 2 * 28, 28)  # the picked tile is outlined
    xs, ys = grid.axes()
    assert np.isclose(z[0], xs[7]) and np.isclose(z[1], ys[::-1][2])  # row 0 is the top
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, z), atol=1e-6)
    # The mosaic tile is that same decoding.
    np.testing.assert_allclose(grid.mosaic[56:84, 196:224], decode(window.model, z), atol=1e-6)


def test_grid_follows_the_visible_range(window, qtbot):
    grid = window.grid
    grid.region.setCurrentIndex(1)
    window.scatter.vb.setRange(xRange=(-1, 1), yRange=(0, 2), padding=0)

    def matches() -> bool:
        r = grid.extent()
        (x0, x1), (y0, y1) = window.scatter.visible_range()
        return bool(np.allclose([r.left(), r.right(), r.top(), r.bottom()], [x0, x1, y0, y1]))

    qtbot.waitUntil(matches, timeout=3000)
    (x0, x1), _ = window.scatter.visible_range()
    assert x0 <= -1 + 1e-6 and x1 >= 1 - 1e-6


def test_new_samples(window, qtbot):
    window.samples_dock.raise_()
    first = window.samples.mosaic.copy()
    qtbot.mouseClick(window.samples.new_button, Qt.MouseButton.LeftButton)
    assert window.samples.mosaic.shape == first.shape
    assert not np.allclose(window.samples.mosaic, first)


def test_save_and_open_a_model(window, tmp_path):
    path = tmp_path / "mine.safetensors"
    assert window.save_model(path)
    assert path.is_file() and window.model_path == path
    ckpt = load_checkpoint(path)
    for k, v in window.model.state_dict().items():
        np.testing.assert_array_equal(ckpt.model.state_dict()[k].numpy(), v.numpy())
    assert ckpt.metadata["dataset"] == "mnist"
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(5)
    window.set_model(VAE(VAEConfig(hidden_dim=16)))
    assert window.open_model(path)
    assert window.model.config.hidden_dim == 64
    assert "mine.safetensors" in window.model_label.text()


def test_opening_a_bad_file_keeps_the_model(window, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04not a checkpoint")
    model = window.model
    assert not window.open_model(bad)
    assert window.model is model
    assert "pickle" in window.last_error


def test_menu_actions_exist_with_shortcuts(window):
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert window.save_action.shortcut().toString() == "Ctrl+S"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Dataset", "&View", "&Help"]


def test_exports(window, tmp_path):
    assert window.export_view(tmp_path / "view.png")
    assert (tmp_path / "view.png").stat().st_size > 10_000
    assert window.export_view(tmp_path / "view.svg")
    assert "<svg" in (tmp_path / "view.svg").read_text()[:2000]
    assert window.export_latents(tmp_path / "z.csv")
    lines = (tmp_path / "z.csv").read_text().splitlines()
    assert lines[0].startswith("index,label,class,mu_0,mu_1,logvar_0,logvar_1")
    assert len(lines) == 10_001


def test_missing_dataset_folder_is_reported(window, tmp_path):
    assert not window.set_dataset(str(tmp_path / "nowhere"))
    assert "nowhere" in window.last_error
    assert window.dataset_key == "mnist"


def test_layout_and_preferences_persist(qtbot, small_checkpoint):
    from vae_explorer.gui.main_window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.grid.size_spin.setValue(9)
    w.samples_dock.hide()
    w.show()
    w.close()
    w2 = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.grid.grid_size() == 9
    assert not w2.samples_dock.isVisible()
    w2.close()


def test_opening_a_model_fills_the_training_form(window, tmp_path):
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(3)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=48, likelihood="gaussian"))
    path = save_checkpoint(
        model,
        tmp_path / "g.safetensors",
        {"dataset": "mnist", "train_config": {"epochs": 7, "lr": 0.002, "beta": 0.5}},
    )
    assert window.open_model(path)
    t = window.training
    assert t.likelihood.currentData() == "gaussian" and t.latent_dim.value() == 3
    assert t.hidden_dim.value() == 48 and t.epochs.value() == 7
    assert t.lr.value() == 0.002 and t.beta.value() == 0.5
    assert "squared error" in window.model_label.text()


def test_training_form_persists(qtbot, small_checkpoint):
    from vae_explorer.gui.main_window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.training.epochs.setValue(13)
    w.training.beta.setValue(2.5)
    w.close()
    w2 = MainWindow(None, load_default=False)
    qtbot.addWidget(w2)
    assert w2.training.epochs.value() == 13 and w2.training.beta.value() == 2.5
    w2.close()

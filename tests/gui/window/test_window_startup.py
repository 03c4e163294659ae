"""Start-up: the first paint comes from a checkpoint's cache before torch is imported; the
model and the views follow in the background; early clicks and an early close are safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from vae_explorer.core.checkpoint_file import read_arrays
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.data import DatasetRef
from vae_explorer.core.first_screen import GRID_ARRAY, PALETTE_ARRAY, PREVIEW_ARRAY, first_screen_arrays
from vae_explorer.core.latent import encode_images

ROOT = Path(__file__).resolve().parents[3]
READY_MS = 120_000  # a loaded 2-core machine imports torch in 10-20 s


@pytest.fixture(scope="module")
def cached_checkpoint(small_checkpoint, tmp_path_factory):
    """The small model with its first screen cached (latents of the MNIST test split)."""
    ckpt = load_checkpoint(small_checkpoint)
    test = DatasetRef.from_key("mnist").load("test")
    path = tmp_path_factory.mktemp("cached") / "cached.safetensors"
    meta = {
        k: v
        for k, v in ckpt.metadata.items()
        if k not in ("format", "format_version", "app_version", "config")
    }
    save_checkpoint(ckpt.model, path, meta, arrays=first_screen_arrays(ckpt.model, test.images))
    return path


def _background_window(qtbot, path):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(path, load_default=False, background=True)
    qtbot.addWidget(w)
    return w


def test_the_first_screen_shows_the_cached_latents_then_the_model_comes_alive(qtbot, cached_checkpoint):
    _, arrays = read_arrays(cached_checkpoint)
    w = _background_window(qtbot, cached_checkpoint)
    state = w.state
    assert not w.views_ready and state.loading and state.model is None
    np.testing.assert_array_equal(state.latents[0], arrays["test_mu"])
    assert w.first_scatter.point_count == len(arrays["test_mu"])
    assert "loading" in w.model_label.text() and w.windowTitle().startswith("cached.safetensors")
    w.show()
    qtbot.mouseClick(w.first_scatter.plot.viewport(), Qt.MouseButton.LeftButton)  # an early click
    if not w.views_ready:
        assert "Loading the model" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    assert state.model is not None and not state.loading and state.model_path == cached_checkpoint
    # The cache is used as it is (no encoding), and it is what the model encodes.
    np.testing.assert_array_equal(state.latents[0], arrays["test_mu"])
    np.testing.assert_allclose(
        state.latents[0], encode_images(state.model, state.test_set.images)[0], atol=1e-5
    )
    assert w.centralWidget() is w.scatter and w.grid_dock.widget() is w.grid
    assert w.menus.open.isEnabled() and not state.modified
    w.close()


def test_the_first_screen_is_gone_once_the_views_are_built(qtbot, cached_checkpoint):
    """Qt deleted the replaced first scatter later; Tab's order, set meanwhile, linked it
    and the focus chain was corrupted (the scatter's tool row lost its items, then a crash)."""
    import gc

    import shiboken6

    from vae_explorer.gui.window.focus_chain import order_by_reading

    w = _background_window(qtbot, cached_checkpoint)
    first = w.first_scatter
    alive_when_built = []

    def order_at_once() -> None:  # in the turn the views are built, as a dock moved then does
        alive_when_built.append(shiboken6.isValid(first))
        order_by_reading(w, w.docks)

    w.viewsReady.connect(order_at_once)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    assert alive_when_built == [False]  # deleted with the views' build, not at a later turn
    gc.collect()
    qtbot.wait(300)
    bar = w.scatter.bar
    assert len(bar.widgets()) >= 5 and all(shiboken6.isValid(w) for w in bar.widgets())
    assert w.scatter.overlay_check.isVisible()
    w.close()


def test_a_checkpoint_without_a_cache_still_opens_encoded(qtbot, small_checkpoint):
    w = _background_window(qtbot, small_checkpoint)
    assert w.state.loading and w.state.latents is None and w.first_scatter.point_count == 0
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    model = w.state.model
    np.testing.assert_allclose(
        w.state.latents[0], encode_images(model, w.state.test_set.images)[0], atol=1e-6
    )
    assert w.last_error is None
    w.close()


def test_a_broken_checkpoint_is_reported_once_the_views_exist(qtbot, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    w = _background_window(qtbot, bad)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    assert "bad.safetensors" in (w.last_error or "")
    assert w.state.model is not None and not w.state.loading  # the untrained stand-in, as before
    w.close()


def test_closing_while_the_model_loads_is_quiet(qtbot, cached_checkpoint):
    w = _background_window(qtbot, cached_checkpoint)
    w.show()
    w.starter.start()
    w.close()
    assert w.starter.wait(READY_MS / 1000)
    QApplication.processEvents()  # the result arrives and is ignored
    assert not w.views_ready and w.last_error is None


def test_a_saved_model_carries_its_first_screen(window, tmp_path):
    path = tmp_path / "saved.safetensors"
    assert window.save_model(path)
    meta, arrays = read_arrays(path)
    np.testing.assert_array_equal(arrays["test_mu"], window.state.latents[0])
    np.testing.assert_array_equal(arrays["test_logvar"], window.state.latents[1])
    assert arrays[GRID_ARRAY].shape == (15 * 28, 15 * 28) and arrays[GRID_ARRAY].dtype == np.uint8
    assert arrays[PREVIEW_ARRAY].shape == (28, 28) and arrays[PALETTE_ARRAY].shape[1] == 3


_DRIVER = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from vae_explorer.gui import app as app_module
from vae_explorer.gui.window import MainWindow

app = QApplication(sys.argv[:1])

def poll():
    windows = [w for w in app_module.top_level_widgets(QApplication.instance()) if isinstance(w, MainWindow)]
    if windows and windows[0].views_ready:
        print("MODEL:", windows[0].state.model is not None, flush=True)
        windows[0].close()
    else:
        QTimer.singleShot(100, poll)

QTimer.singleShot(100, poll)
QTimer.singleShot(150_000, lambda: app.exit(3))
sys.exit(app_module.run_app(sys.argv[1]))
"""


def test_the_first_paint_happens_before_torch_is_imported(cached_checkpoint, tmp_path):
    log = tmp_path / "startup.log"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "VAE_EXPLORER_SETTINGS": str(tmp_path / "s.ini"),
        "VAE_EXPLORER_STARTUP_LOG": str(log),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(cached_checkpoint)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MODEL: True" in proc.stdout
    events = [line.split() for line in log.read_text().splitlines()]
    names = [e[0] for e in events]
    assert names == ["first_paint", "model_ready"], names
    assert "torch_loaded=0" in events[0] and "points=10000" in events[0]
    assert float(events[0][1]) <= float(events[1][1])


def test_the_first_paint_import_chain_is_torch_free():
    code = (
        "import sys\n"
        "import vae_explorer.gui.app, vae_explorer.gui.window, vae_explorer.gui.window.first_screen\n"
        "import vae_explorer.gui.window.startup, vae_explorer.gui.state\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def _start_with_nothing_named(qtbot, background: bool):
    """The window as `vae-explorer` opens it with no model named (the default)."""
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(None, background=background)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready and not w.state.loading, timeout=READY_MS)
    return w


@pytest.mark.parametrize("background", [True, False], ids=["background", "at-once"])
def test_a_start_with_no_model_named_opens_the_one_last_opened_or_saved(qtbot, window, tmp_path, background):
    """The settings kept the last model's path, but no start read it: every start showed
    the shipped model."""
    saved = tmp_path / "mine.safetensors"
    assert window.save_model(saved)
    window.close()
    w = _start_with_nothing_named(qtbot, background)
    assert w.state.model_path == saved and w.last_error is None
    w.close()


@pytest.mark.parametrize("background", [True, False], ids=["background", "at-once"])
def test_a_remembered_model_that_cannot_be_read_gives_way_to_the_shipped_one(qtbot, tmp_path, background):
    from vae_explorer.gui.theme import app_settings
    from vae_explorer.gui.window.datasets import DEFAULT_CHECKPOINT
    from vae_explorer.gui.window.settings import LAST_MODEL

    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("no shipped model")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    app_settings().setValue(LAST_MODEL, str(bad))
    w = _start_with_nothing_named(qtbot, background)
    assert "bad.safetensors" in (w.last_error or "")  # told
    assert w.state.model_path == DEFAULT_CHECKPOINT  # the shipped model instead
    assert app_settings().value(LAST_MODEL) != str(bad)  # and not tried again
    w.close()
    app_settings().setValue(LAST_MODEL, str(tmp_path / "gone.safetensors"))  # moved away since
    w = _start_with_nothing_named(qtbot, background)
    assert w.state.model_path == DEFAULT_CHECKPOINT and w.last_error is None
    w.close()

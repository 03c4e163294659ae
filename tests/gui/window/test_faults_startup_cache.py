"""Start-up from a checkpoint whose cached first screen or training history is damaged:
the window leaves out what it cannot use (as if the file lacked it) and opens the model."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.checkpoint_file import read_arrays
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.data import DatasetRef
from vae_explorer.core.first_screen import GRID_ARRAY, PALETTE_ARRAY, PREVIEW_ARRAY, first_screen_arrays
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY
from vae_explorer.gui.window.startup import read_first_screen

READY_MS = 120_000


@pytest.fixture(scope="module")
def cache(small_checkpoint):
    """The small model, its metadata and its sound first-screen arrays (MNIST test split)."""
    ckpt = load_checkpoint(small_checkpoint)
    arrays = first_screen_arrays(ckpt.model, DatasetRef.from_key("mnist").load("test").images)
    meta = {
        k: v
        for k, v in ckpt.metadata.items()
        if k not in ("format", "format_version", "app_version", "config")
    }
    return ckpt.model, meta, arrays


def _save(cache, tmp_path, **changes):
    model, meta, arrays = cache
    arrays = {**arrays, **{k.replace("__", "/"): v for k, v in changes.items()}}
    return save_checkpoint(model, tmp_path / "cached.safetensors", meta, arrays=arrays)


def _start(qtbot, path):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(path, load_default=False, background=True)
    qtbot.addWidget(w)
    return w


BAD = {
    "palette_nan": {"first_screen__palette": np.full((10, 3), np.nan, np.float32)},
    "palette_huge": {"first_screen__palette": np.full((10, 3), 1e9, np.float64)},
    "palette_negative": {"first_screen__palette": np.full((10, 3), -5, np.int32)},
    "grid_tall": {"first_screen__grid": np.zeros((100_000, 1), np.uint8)},
    "preview_nan": {"first_screen__preview": np.full((28, 28), np.nan, np.float32)},
    "mu_nan": {"test_mu": np.full((10_000, 2), np.nan, np.float32)},
    "mu_wide": {
        "test_mu": np.zeros((10_000, 3), np.float32),
        "test_logvar": np.zeros((10_000, 3), np.float32),
    },
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_unusable_cached_array_is_left_out_at_start_up(qtbot, cache, tmp_path, case):
    path = _save(cache, tmp_path, **BAD[case])
    first = read_first_screen(path)
    assert first.latent_dim == 2
    for name in BAD[case]:
        assert name.replace("__", "/") not in first.arrays
    w = _start(qtbot, path)  # the first paint: no crash
    state = w.state
    assert state.loading and not w.views_ready
    if case.startswith("mu_"):
        assert state.latents is None and w.first_scatter.point_count == 0
    else:
        assert w.first_scatter.point_count == 10_000
    assert w.grid_dock.widget().picture.isHidden() == (case == "grid_tall")
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    assert state.model is not None and w.last_error is None
    assert state.latents is not None and np.isfinite(state.latents[0]).all()
    w.close()


def test_a_damaged_cached_picture_is_made_anew_when_the_model_is_saved(qtbot, cache, tmp_path):
    path = _save(cache, tmp_path, **BAD["palette_nan"])
    w = _start(qtbot, path)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    saved = w.files.arrays_to_save(dict(w.state.model_meta))[PALETTE_ARRAY]
    assert saved.dtype == np.uint8 and saved.shape[1] == 3
    w.close()


def test_a_sound_cache_is_read_as_it_was_saved(cache, tmp_path):
    path = _save(cache, tmp_path)
    _, saved = read_arrays(path)
    first = read_first_screen(path)
    for name in ("test_mu", "test_logvar", GRID_ARRAY, PREVIEW_ARRAY, PALETTE_ARRAY):
        np.testing.assert_array_equal(first.arrays[name], saved[name])


@pytest.mark.parametrize(
    "epochs",
    [np.arange(2**31 - 4, 2**31 - 1, dtype=np.int32), np.arange(-2, 1, dtype=np.int32)],
    ids=["huge", "negative"],
)
def test_a_damaged_history_leaves_the_model_open_without_one(qtbot, cache, tmp_path, epochs):
    n = len(cache[2]["test_mu"])
    mu, logvar = (np.zeros((3, n, 2), np.float16) for _ in range(2))
    path = _save(cache, tmp_path, **{EPOCHS_KEY: epochs, MU_KEY: mu, LOGVAR_KEY: logvar})
    w = _start(qtbot, path)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    assert w.state.model is not None and w.state.model_path == path
    scrub = w.state.scrub
    assert scrub.first is None and "history/epochs" in (scrub.error or "")
    assert w.timeline.epoch_label.text() == "No training history"
    assert "(unreadable)" in w.timeline.weights_label.text()
    w.close()

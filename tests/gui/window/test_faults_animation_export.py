"""The window's animation export on awkward runs and places: a one-epoch run, a full disk,
a read-only folder. A file, or a message naming the file asked for and the reason."""

from __future__ import annotations

import errno
import gc
import sys
import tempfile

import numpy as np
import pytest
from PIL import Image

from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY, TrainingHistory
from vae_explorer.gui.window.animation_export import AnimationExporter, write_animation

N = 40


def _history(epochs: int) -> TrainingHistory:
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(epochs, N, 2)).astype(np.float16)
    arrays = {EPOCHS_KEY: np.arange(1, epochs + 1), MU_KEY: mu, LOGVAR_KEY: np.zeros_like(mu)}
    history = TrainingHistory.from_arrays(arrays)
    assert history is not None
    return history


LABELS = np.arange(N) % 10


def test_a_one_epoch_run_is_written_as_a_one_frame_gif(tmp_path):
    out = tmp_path / "one.gif"
    steps = list(write_animation(_history(1), LABELS, out, size=64))
    assert steps == [(1, 1)]
    with Image.open(out) as gif:
        assert gif.n_frames == 1 and gif.size[0] == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.gif"]


def _export(qtbot, history, path):
    exporter = AnimationExporter()
    results = []
    exporter.done.connect(lambda p: results.append(("done", p)))
    exporter.failed.connect(lambda m: results.append(("failed", m)))
    with qtbot.waitSignal(exporter.finished, timeout=30_000):
        assert exporter.start(history, LABELS, path)
    return results


def test_the_exporter_writes_a_one_epoch_run(qtbot, tmp_path):
    out = tmp_path / "one.gif"
    assert _export(qtbot, _history(1), out) == [("done", str(out))]
    assert out.exists()


@pytest.fixture
def unraisable(monkeypatch):
    """What the interpreter reports as "Exception ignored in ..." (e.g. from a __del__)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_a_full_disk_is_named_with_the_file_and_leaves_nothing(qtbot, tmp_path, monkeypatch, unraisable):
    def full(self, fp, *args, **kwargs):
        fp.write(b"GIF89a partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    out = tmp_path / "a.gif"
    results = _export(qtbot, _history(3), out)
    gc.collect()
    assert results == [("failed", f"cannot write {out}: no space left on device")]
    assert unraisable == []
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_named_with_the_file_not_its_temporary(qtbot, tmp_path, monkeypatch):
    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):  # noqa: A002 - mkstemp's name
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}x1y2z3{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "a.gif"
    assert _export(qtbot, _history(2), out) == [("failed", f"cannot write {out}: read-only file system")]
    assert list(tmp_path.iterdir()) == []

"""`vae-explorer animate` on awkward runs and places: a one-epoch run, a damaged history,
a full disk, a read-only folder. Each ends in a file or in one line naming the problem."""

from __future__ import annotations

import errno
import gc
import sys
import tempfile

import numpy as np
import pytest
from PIL import Image

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY
from vae_explorer.core.model import VAE, VAEConfig

N_TEST = 30


def _checkpoint(folder, epochs, mu=None):
    """A model with a hand-written history of ``epochs`` (N_TEST test latents each)."""
    rng = np.random.default_rng(0)
    e = len(epochs)
    mu = rng.normal(size=(e, N_TEST, 2)).astype(np.float16) if mu is None else mu
    arrays = {EPOCHS_KEY: np.asarray(epochs), MU_KEY: mu, LOGVAR_KEY: np.zeros((e, N_TEST, 2), np.float16)}
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    return save_checkpoint(model, folder / "run.safetensors", {"dataset": "mnist"}, arrays=arrays)


@pytest.fixture
def data(make_idx_folder):
    return make_idx_folder(20, N_TEST)


def _animate(ckpt, out, data, *more):
    return main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(data), "--size", "64",
                 "--quiet", *more])  # fmt: skip


def _leftovers(folder, *keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in {"run.safetensors", "data", *keep})


def test_a_one_epoch_run_makes_a_one_frame_gif(tmp_path, data, capsys):
    ckpt = _checkpoint(tmp_path, np.array([1], np.int32))
    out = tmp_path / "one.gif"
    assert _animate(ckpt, out, data) == 0, capsys.readouterr().err
    with Image.open(out) as gif:
        assert gif.n_frames == 1 and gif.size == (64, 64 + 1 + 4)
        assert gif.info["duration"] >= 1000 and gif.info["loop"] == 0
    assert _animate(ckpt, tmp_path / "smooth.gif", data, "--steps-between", "3") == 0
    assert _leftovers(tmp_path, "one.gif", "smooth.gif") == []


def test_frame_durations_are_kept(tmp_path, data):
    ckpt = _checkpoint(tmp_path, np.array([1, 2, 3], np.int32))
    out = tmp_path / "three.gif"
    assert _animate(ckpt, out, data, "--fps", "5") == 0
    with Image.open(out) as gif:
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert durations == [200, 200, 1500]


@pytest.mark.parametrize(
    ("epochs", "words"),
    [
        (np.arange(-2, 1, dtype=np.int32), "between 1 and"),
        (np.arange(2**31 - 4, 2**31 - 1, dtype=np.int32), "between 1 and"),
        (np.array([5, 3, 6], np.uint32), "strictly increasing"),
    ],
)
def test_a_damaged_history_is_named_and_nothing_is_written(tmp_path, data, capsys, epochs, words):
    ckpt = _checkpoint(tmp_path, epochs)
    out = tmp_path / "x.gif"
    assert _animate(ckpt, out, data) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err and "run.safetensors" in err and "unexpected" not in err
    assert _leftovers(tmp_path) == []


def test_a_history_of_nan_latents_is_refused_not_drawn_blank(tmp_path, data, capsys):
    ckpt = _checkpoint(tmp_path, np.array([1, 2], np.int32), mu=np.full((2, N_TEST, 2), np.nan, np.float16))
    assert _animate(ckpt, tmp_path / "n.gif", data) == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


@pytest.fixture
def unraisable(monkeypatch):
    """What the interpreter reports as "Exception ignored in ..." (e.g. from a __del__)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, data, capsys, monkeypatch, unraisable):
    ckpt = _checkpoint(tmp_path, np.array([1, 2, 3], np.int32))

    def full(self, fp, *args, **kwargs):
        fp.write(b"GIF89a partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    out = tmp_path / "a.gif"
    assert _animate(ckpt, out, data) != 0
    gc.collect()
    err = capsys.readouterr().err.strip()
    assert err == f"error: cannot write {out}: no space left on device"
    assert unraisable == []
    assert _leftovers(tmp_path) == []


def test_a_read_only_folder_names_the_file_not_its_temporary(tmp_path, data, capsys, monkeypatch):
    ckpt = _checkpoint(tmp_path, np.array([1, 2], np.int32))

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):  # noqa: A002 - mkstemp's name
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}x1y2z3{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "a.gif"
    assert _animate(ckpt, out, data) != 0
    err = capsys.readouterr().err.strip()
    assert err == f"error: cannot write {out}: read-only file system"
    assert _leftovers(tmp_path) == []


def test_a_missing_folder_is_named(tmp_path, data, capsys):
    ckpt = _checkpoint(tmp_path, np.array([1, 2], np.int32))
    out = tmp_path / "nowhere" / "a.gif"
    assert _animate(ckpt, out, data) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write {out}: ") and str(out.parent) in err.split(": ", 2)[2]


def _wide_checkpoint(folder, mu):
    """A 3-d model whose history is ``mu`` [epochs, N, 3]."""
    e, n, d = mu.shape
    arrays = {EPOCHS_KEY: np.arange(1, e + 1), MU_KEY: mu, LOGVAR_KEY: np.zeros((e, n, d), np.float32)}
    model = VAE(VAEConfig(latent_dim=d, hidden_dim=8))
    return save_checkpoint(model, folder / "wide.safetensors", {"dataset": "mnist"}, arrays=arrays)


def test_a_wide_history_of_one_test_image_is_refused_in_one_line(tmp_path, make_idx_folder, capsys):
    """Beyond two dimensions the frames show a PCA plane, which one point cannot give."""
    ckpt = _wide_checkpoint(tmp_path, np.ones((2, 1, 3), np.float32))
    out = tmp_path / "a.gif"
    assert _animate(ckpt, out, make_idx_folder(20, 1)) == 2
    err = capsys.readouterr().err
    assert "PCA plane" in err and "unexpected" not in err and not out.exists()


def test_latents_near_the_float32_limit_still_animate(tmp_path, data, capsys):
    """A finite history with one huge latent (a run on the edge of diverging): the frames'
    axes were computed in float32 and overflowed."""
    mu = np.random.default_rng(0).normal(size=(2, N_TEST, 3)).astype(np.float32)
    mu[1, 0] = 3e38
    out = tmp_path / "a.gif"
    assert _animate(_wide_checkpoint(tmp_path, mu), out, data) == 0, capsys.readouterr().err
    assert Image.open(out).n_frames == 2

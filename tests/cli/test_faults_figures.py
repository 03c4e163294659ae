"""`vae-explorer figures` on awkward models and places: a 1-d latent space, names that are
not UTF-8, a folder that refuses the files. Each ends in complete PNGs or in one line naming
the file asked for; the process never dies."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(20, 60)


def _vae(path, latent_dim=2):
    torch.manual_seed(0)
    return save_checkpoint(VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=8)), path, {"dataset": "mnist"})


def _figures_args(ckpt, out, data_dir, *more):
    return ["figures", os.fsdecode(ckpt), "--out", os.fsdecode(out), "--data-dir", str(data_dir),
            "--grid", "5", "--digits", "4", "--scatter", "60", "--methods", "single", *more]  # fmt: skip


def _complete_png(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE, f"{path!r} is not a PNG"
    with Image.open(path) as im:
        im.load()  # every byte of it decodes
        return im.size


def _hidden(folder) -> list[str]:
    return sorted(os.fsdecode(name) for name in os.listdir(folder) if os.fsdecode(name).startswith("."))


def _run_python(code: str, cwd) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter: a crash (a signal) cannot take the test run with it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


# --- a 1-d latent space ----------------------------------------------------------------------


def test_figures_of_a_one_dimensional_model_are_written_in_a_process_that_lives(tmp_path, data_dir):
    """It used to raise an IndexError with a QPainter open on the picture: a segfault."""
    ckpt = _vae(tmp_path / "z1.safetensors", latent_dim=1)
    out = tmp_path / "figs"
    args = _figures_args(ckpt, out, data_dir, "--traversal", "--interpolate", "0,1")
    proc = subprocess.run([sys.executable, "-m", "vae_explorer", *args], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    names = ["z1-imputation.png", "z1-interpolation.png", "z1-latent-grid.png", "z1-latents.png",
             "z1-traversal.png"]  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        _complete_png(out / name)
    # The grid of a 1-d space is its one row of tiles (5 of 28 pixels, enlarged twice).
    w, h = _complete_png(out / "z1-latent-grid.png")
    assert w >= 5 * 28 * 2 and h < 2 * 28 * 2 + 60


def test_a_one_dimensional_scatter_lies_on_one_line(tmp_path):
    from vae_explorer.gui.figure_render import render_latent_scatter

    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 1))
    labels = rng.integers(0, 10, 200)
    path = render_latent_scatter(z, labels, [str(k) for k in range(10)], tmp_path / "z1.png", size=400)
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    plot = rgb[:, :400]  # left of the legend
    coloured = (plot.max(axis=2) - plot.min(axis=2)) > 40  # the class colours, not greys or white
    rows = np.flatnonzero(coloured.any(axis=1))
    assert rows.size and rows.max() - rows.min() <= 8  # one band of dots: y = 0
    cols = np.flatnonzero(coloured.any(axis=0))
    assert cols.max() - cols.min() > 200  # spread along z1


def test_a_painter_is_ended_when_drawing_fails(tmp_path):
    """An error while painting leaves an ordinary exception, never a destroyed paint device
    that is still being painted (which kills the process)."""
    proc = _run_python(
        """
        import numpy as np
        from vae_explorer.gui.figure_render import render_labelled_image, render_latent_scatter

        for draw in (
            lambda: render_labelled_image(np.zeros((28, 28)), "a.png", row_labels=[object()]),
            lambda: render_latent_scatter(np.zeros((5, 2)), np.zeros(2), ["a"], "b.png"),
        ):
            try:
                draw()
            except Exception as exc:
                print("raised", type(exc).__name__, flush=True)
            else:
                print("no error", flush=True)
        import gc
        gc.collect()
        print("alive", flush=True)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.split("\n")[:3] == ["raised TypeError", "raised IndexError", "alive"]
    assert "being painted" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


# --- names that are not UTF-8 ------------------------------------------------------------------


def test_a_checkpoint_name_that_is_not_utf8_gets_complete_pngs(tmp_path, data_dir, capsys):
    """Qt turned such a name into another one: the PNGs landed in hidden temporary files
    and the named files were left empty, with success reported."""
    folder = os.fsencode(tmp_path)
    ckpt = _vae(os.fsdecode(folder + b"/bad\xff.safetensors"))
    out = tmp_path / "figs"
    assert main(_figures_args(ckpt, out, data_dir)) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out.split()
    names = sorted(os.listdir(os.fsencode(out)))
    assert names == [b"bad\xff-imputation.png", b"bad\xff-latent-grid.png", b"bad\xff-latents.png"]
    for name in names:
        assert _complete_png(os.path.join(os.fsencode(out), name))[0] > 100
    assert all("bad\\xff-" in line for line in printed)  # shown with the byte escaped
    assert _hidden(tmp_path / "figs") == []


def test_an_out_folder_whose_name_is_not_utf8_works(tmp_path, data_dir, capsys):
    ckpt = _vae(tmp_path / "tiny.safetensors")
    out = os.fsdecode(os.fsencode(tmp_path) + b"/figs\xff")
    assert main(_figures_args(ckpt, out, data_dir)) == 0, capsys.readouterr().err
    assert "no permission" not in capsys.readouterr().err
    names = sorted(os.listdir(out))
    assert names == ["tiny-imputation.png", "tiny-latent-grid.png", "tiny-latents.png"]
    for name in names:
        _complete_png(os.path.join(out, name))


# --- folders that refuse the files -------------------------------------------------------------


def test_a_read_only_folder_names_the_file_not_its_temporary(tmp_path, data_dir, capsys, monkeypatch):
    ckpt = _vae(tmp_path / "tiny.safetensors")
    out = tmp_path / "figs"
    out.mkdir()

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):  # noqa: A002 - mkstemp's name
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}x1y2z3{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert main(_figures_args(ckpt, out, data_dir)) != 0
    err = capsys.readouterr().err.strip()
    assert err == f"error: cannot write {out / 'tiny-latent-grid.png'}: read-only file system"
    assert list(out.iterdir()) == []


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, data_dir, capsys, monkeypatch):
    ckpt = _vae(tmp_path / "tiny.safetensors")
    out = tmp_path / "figs"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert main(_figures_args(ckpt, out, data_dir)) != 0
    err = capsys.readouterr().err.strip()
    assert err == f"error: cannot write {out / 'tiny-latent-grid.png'}: no space left on device"
    assert list(out.iterdir()) == []

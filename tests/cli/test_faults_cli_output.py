"""What `gaps`, `eval` and `animate` print for awkward names and values: a file name that
is not UTF-8 and a metadata string holding a lone surrogate are printed escaped (never a
UnicodeEncodeError on a strict stdout), `eval --json` prints valid JSON when the split
lacks a class, and `animate` into a read-only folder exits 2 before any drawing."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import sys
import tempfile

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

import vae_explorer.core.figures as figures
from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.data import SPLIT_FILES, write_idx
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY
from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel
from vae_explorer.core.model import VAE, VAEConfig

N_TEST = 30
SURROGATE = "\ud800x"  # what JSON's "\ud800x" reads as: no encoding can write it


@pytest.fixture
def data(make_idx_folder):
    return make_idx_folder(20, N_TEST)


def _strict_stdout(monkeypatch):
    """Make stdout encode UTF-8 strictly (as PYTHONIOENCODING=utf-8 does); what it was
    given, decoded, comes back from the returned function. Set in the test itself: pytest
    puts its own stdout back after each fixture."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    return lambda: raw.getvalue().decode("utf-8")


def _vae(path, metadata=None):
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    return save_checkpoint(model, path, {"dataset": "mnist", **(metadata or {})})


def _labelled(path, metadata):
    torch.manual_seed(0)
    config = LabelledConfig("m2", latent_dim=2, hidden_dim=8, classifier_hidden_dim=8)
    return save_checkpoint(LabelledModel(config), path, {"dataset": "mnist", "labels": 10, **metadata})


# --- 1. names and metadata printed escaped -------------------------------------------------------


def test_gaps_prints_a_file_name_that_is_not_utf8_escaped(tmp_path, data, capsys, monkeypatch):
    strict_stdout = _strict_stdout(monkeypatch)
    ckpt = _vae(tmp_path / os.fsdecode(b"bad\xffname.safetensors"))
    code, err = run_cli(["gaps", str(ckpt), "--data-dir", str(data), "--quiet", "--limit", "4",
                         "--grid", "16"], capsys)  # fmt: skip
    assert code == 0, err
    assert strict_stdout().startswith(f"{tmp_path}/bad\\xffname.safetensors on mnist test (4 images)")


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--quiet"],
        ["gaps", "--quiet", "--limit", "4", "--grid", "16"],
        ["eval", "--quiet", "--labelled"],
    ],
    ids=["eval", "gaps", "eval-labelled"],
)
def test_a_metadata_string_with_a_lone_surrogate_is_printed_escaped(
    tmp_path, data, capsys, monkeypatch, argv
):
    strict_stdout = _strict_stdout(monkeypatch)
    command, *more = argv
    if "--labelled" in more:
        more.remove("--labelled")
        ckpt = _labelled(tmp_path / "m.safetensors", {"dataset": SURROGATE, "labels": SURROGATE})
    else:
        ckpt = _vae(tmp_path / "m.safetensors", {"dataset": SURROGATE})
    code, err = run_cli([command, str(ckpt), "--data-dir", str(data), *more], capsys)
    assert code == 0, err
    first = strict_stdout().splitlines()[0]
    assert first.startswith(f"{ckpt} ") and " on \\ud800x test " in first
    assert "unexpected" not in err


# --- 3. eval --json: a class the split lacks is null, not NaN ----------------------------------


def test_eval_json_of_a_split_without_a_class_is_valid_json(tmp_path, mnist_test, capsys):
    folder = tmp_path / "no-nines"
    folder.mkdir()
    keep = np.concatenate([np.flatnonzero(mnist_test.labels == c)[:4] for c in range(9)])  # no 9s
    for split in ("train", "test"):
        img, lab = SPLIT_FILES[split]
        write_idx(folder / f"{img}.gz", mnist_test.images[keep])
        write_idx(folder / f"{lab}.gz", mnist_test.labels[keep])
    ckpt = _labelled(tmp_path / "m2.safetensors", {})
    code = main(["eval", str(ckpt), "--data-dir", str(folder), "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    result = json.loads(out, parse_constant=refuse)
    accuracy = result["per_class_accuracy"]
    assert len(accuracy) == 10 and accuracy[9] is None
    assert all(isinstance(a, float) and 0 <= a <= 1 for a in accuracy[:9]), accuracy


# --- 2. animate into a read-only folder --------------------------------------------------------


def _history_checkpoint(path):
    rng = np.random.default_rng(0)
    arrays = {
        EPOCHS_KEY: np.array([1, 2], np.int32),
        MU_KEY: rng.normal(size=(2, N_TEST, 2)).astype(np.float16),
        LOGVAR_KEY: np.zeros((2, N_TEST, 2), np.float16),
    }
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    return save_checkpoint(model, path, {"dataset": "mnist"}, arrays=arrays)


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_animate_into_a_read_only_folder_exits_2_before_drawing(
    tmp_path, data, capsys, monkeypatch, relative
):
    ckpt = _history_checkpoint(tmp_path / "run.safetensors")
    (tmp_path / "ro").mkdir()

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):  # noqa: A002 - mkstemp's name
        # As mkstemp itself reports it: by an absolute name, even for a relative folder.
        raise OSError(errno.EROFS, "Read-only file system", f"{os.path.abspath(dir)}/{prefix}x1y2z3{suffix}")

    def no_drawing(*args, **kwargs):  # as history_frames: frames drawn as they are asked for
        raise AssertionError("a frame was drawn before the folder was checked")
        yield

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(figures, "history_frames", no_drawing)
    out = "ro/a.gif" if relative else str(tmp_path / "ro" / "a.gif")
    code, err = run_cli(["animate", str(ckpt), "--out", out, "--data-dir", str(data), "--size", "64",
                         "--quiet"], capsys)  # fmt: skip
    assert (code, err.strip()) == (2, f"error: cannot write {out}: read-only file system")
    assert list((tmp_path / "ro").iterdir()) == []


def test_a_stop_signal_during_the_folder_check_interrupts_it(tmp_path, data, capsys, monkeypatch):
    """The check makes a file in the folder: a SIGTERM as it does so interrupts as one during
    the drawing does (exit 130, nothing left), never killing the command or being ignored."""
    ckpt = _history_checkpoint(tmp_path / "run.safetensors")
    (tmp_path / "gif").mkdir()
    real_mkstemp = tempfile.mkstemp

    def stopped(*args, **kwargs):
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN, None):
            raise AssertionError("a SIGTERM now would kill the command (or be ignored)")
        signal.raise_signal(signal.SIGTERM)
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", stopped)
    code, err = run_cli(["animate", str(ckpt), "--out", str(tmp_path / "gif" / "a.gif"), "--data-dir",
                         str(data), "--size", "64", "--quiet"], capsys)  # fmt: skip
    assert (code, err.strip()) == (130, "interrupted (SIGTERM)")
    assert list((tmp_path / "gif").iterdir()) == []

"""CLI faults of numbers and sizes: a checkpoint whose finite weights make the networks
overflow is refused before the work, naming the file and the network; results that come out
non-finite anyway are never shown as a success; an empty test split is named; SIGTERM and
SIGHUP during `animate` clean up as Ctrl-C does; over-long figure names and empty hidden
sizes are refused up front. Each is exit 2 and one line (130 for the signals)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from cli_helpers import run_cli

from vae_explorer.cli import build_parser
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY
from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel
from vae_explorer.core.model import VAE, VAEConfig

FLIPPED = 6.3e36  # 0.0185 with its top exponent bit flipped: finite, far too large


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "a bug" not in err, err
    return lines[0]


def _damaged(path, network: str = "encoder"):
    """A tiny 2-d VAE with one weight's exponent flipped (encoder) or a decoder that overflows."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden_dim=16))
    with torch.no_grad():
        if network == "encoder":
            model.enc_logvar.weight[0, 0] = FLIPPED
        else:
            model.dec_out.weight.fill_(3e38)
    return save_checkpoint(model, path, {"dataset": "mnist"})


def _labelled(path, kind: str = "m1m2"):
    torch.manual_seed(0)
    config = LabelledConfig(kind, latent_dim=2, hidden_dim=8, classifier_hidden_dim=8, m1_latent_dim=4,
                            m1_hidden_dim=8)  # fmt: skip
    return save_checkpoint(LabelledModel(config), path, {"dataset": "mnist", "labels": 10})


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(60, 40)


# --- a damaged checkpoint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "{ckpt}", "--quiet"],
        ["figures", "{ckpt}", "--out", "{tmp}/figs", "--digits", "3"],
        ["impute-eval", "{ckpt}", "--methods", "importance", "--n", "20", "--quiet"],
        ["gaps", "{ckpt}", "--limit", "10", "--quiet"],  # used to blame the decoder
    ],
    ids=lambda argv: argv[0],
)
def test_a_flipped_encoder_weight_is_named_before_the_work(tmp_path, data_dir, capsys, argv):
    ckpt = _damaged(tmp_path / "flipped.safetensors")
    names = {"ckpt": str(ckpt), "tmp": str(tmp_path)}
    code, err = run_cli([a.format(**names) for a in argv] + ["--data-dir", str(data_dir)], capsys)
    line = one_line(err)
    assert code == 2 and line.startswith(f"error: {ckpt}: the encoder gives non-finite values"), err
    assert "likely damaged" in line and "decoder" not in line
    assert not list(tmp_path.glob("figs/*"))  # nothing drawn


def test_an_overflowing_decoder_is_named(tmp_path, data_dir, capsys):
    ckpt = _damaged(tmp_path / "dec.safetensors", "decoder")
    code, err = run_cli(["eval", str(ckpt), "--data-dir", str(data_dir), "--quiet"], capsys)
    assert code == 2 and f"{ckpt}: the decoder gives non-finite values" in one_line(err)


def test_a_labelled_checkpoint_names_its_network(tmp_path, data_dir, capsys):
    ckpt = _labelled(tmp_path / "m1m2.safetensors")
    code, err = run_cli(["eval", str(ckpt), "--data-dir", str(data_dir)], capsys)
    assert code == 0, err
    from vae_explorer.core.checkpoints import load_checkpoint

    model = load_checkpoint(ckpt).model
    model.m1.enc_logvar.bias.data.fill_(200.0)
    save_checkpoint(model, ckpt, {"dataset": "mnist"})
    code, err = run_cli(["eval", str(ckpt), "--data-dir", str(data_dir)], capsys)
    assert code == 2 and "the M1 encoder gives non-finite values" in one_line(err)


def test_train_refuses_a_damaged_m1_before_training(tmp_path, data_dir, capsys):
    m1 = _damaged(tmp_path / "m1.safetensors")
    out = tmp_path / "mm.safetensors"
    code, err = run_cli(["train", "--model", "m1m2", "--m1", str(m1), "--data-dir", str(data_dir),
                         "--labels", "10", "--hidden-dim", "8", "--classifier-hidden-dim", "8",
                         "--epochs", "1", "--out", str(out), "--quiet"], capsys)  # fmt: skip
    line = one_line(err)
    assert code == 2 and f"--m1 {m1}: the encoder gives non-finite values" in line, err
    assert "learning rate" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "m1.safetensors"]  # no last-good file


def test_results_that_come_out_non_finite_anyway_are_not_a_success(tmp_path, data_dir, capsys, monkeypatch):
    import vae_explorer.core.model_probe as probe

    monkeypatch.setattr(probe, "faulty_network", lambda *args, **kwargs: None)  # damage it misses
    ckpt = _damaged(tmp_path / "flipped.safetensors")
    code, err = run_cli(["eval", str(ckpt), "--data-dir", str(data_dir), "--quiet"], capsys)
    line = one_line(err)
    assert code == 2 and f"{ckpt}: the results came out non-finite" in line and "kl" in line, err
    assert "ELBO" not in capsys.readouterr().out


# --- a test split without images -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "{ckpt}", "--quiet"],
        ["eval", "{m1m2}"],
        ["figures", "{ckpt}", "--out", "{tmp}/figs"],
        ["impute-eval", "{ckpt}", "--methods", "single", "--quiet"],
        ["gaps", "{ckpt}", "--quiet"],
    ],
    ids=lambda argv: "-".join(a.strip("{}") for a in argv[:2]),
)
def test_an_empty_test_split_is_named(tmp_path, checkpoint, make_idx_folder, capsys, argv):
    folder = make_idx_folder(20, 0)
    names = {
        "ckpt": str(checkpoint),
        "m1m2": str(_labelled(tmp_path / "m.safetensors")),
        "tmp": str(tmp_path),
    }
    code, err = run_cli([a.format(**names) for a in argv] + ["--data-dir", str(folder)], capsys)
    assert code == 2 and one_line(err) == f"error: the test split in {folder} holds no images", err
    assert capsys.readouterr().out == ""


# --- SIGTERM and SIGHUP while `animate` writes ---------------------------------------------------

# `vae-explorer animate` with frames that never end (one every 50 ms): the signal always
# lands while the GIF's temporary file is open.
_ENDLESS = """
import itertools, sys, time
import vae_explorer.core.figures as figures
real = figures.history_frames
def endless(*args, **kwargs):
    first = next(iter(real(*args, **kwargs)))
    for _ in itertools.count():
        time.sleep(0.05)
        yield first
figures.history_frames = endless
from vae_explorer.cli import run
sys.argv[0] = "vae-explorer"
run()
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_stop_signal_while_animating_leaves_no_temporary_file(tmp_path, make_idx_folder, name):
    folder = make_idx_folder(20, 30)
    rng = np.random.default_rng(0)
    arrays = {EPOCHS_KEY: np.arange(1, 4), MU_KEY: rng.normal(size=(3, 30, 2)).astype(np.float16),
              LOGVAR_KEY: np.zeros((3, 30, 2), np.float16)}  # fmt: skip
    ckpt = save_checkpoint(VAE(VAEConfig(hidden_dim=8)), tmp_path / "run.safetensors", {"dataset": "mnist"},
                           arrays=arrays)  # fmt: skip
    out = tmp_path / "gif"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _ENDLESS, "animate", str(ckpt), "--out", str(out / "a.gif"),
         "--data-dir", str(folder), "--size", "64", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while not list(out.iterdir()) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert [p.name for p in out.iterdir()][0].startswith(".a."), proc.stderr
        proc.send_signal(getattr(signal, name))
        stdout, err = proc.communicate(timeout=60)
    finally:  # (its frames never end: never left running)
        proc.kill()
        proc.wait()
    assert proc.returncode == 130 and one_line(err) == f"interrupted ({name})", err
    assert list(out.iterdir()) == [] and stdout == ""


# --- sizes refused up front ----------------------------------------------------------------------


def test_a_prefix_too_long_for_a_file_name_is_refused_before_the_work(tmp_path, checkpoint, data_dir, capsys):
    out = tmp_path / "figs"
    code, err = run_cli(["figures", str(checkpoint), "--out", str(out), "--data-dir", str(data_dir),
                         "--prefix", "a" * 300], capsys)  # fmt: skip
    line = one_line(err)
    assert code == 2 and line.startswith("error: --prefix is too long for the figures' file names"), err
    assert "300 bytes" in line and "a" * 100 not in line
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("text", ["5,,5", "5,", ",5", "5, ,5", "-5"])
def test_an_empty_hidden_size_is_refused(tmp_path, capsys, text):
    code, err = run_cli(["train", "--hidden-dim", text, "--out", str(tmp_path / "m.safetensors")], capsys)
    assert code == 2 and "--hidden-dim: " in one_line(err) and "empty layer size" in err, err


@pytest.mark.parametrize(("text", "sizes"), [("5", 5), ("200,200", (200, 200)), ("200, 200", (200, 200)),
                                             ("200-100", (200, 100))])  # fmt: skip
def test_hidden_sizes_as_typed_still_work(tmp_path, text, sizes):
    args = build_parser().parse_args(
        ["train", "--hidden-dim", text, "--out", str(tmp_path / "m.safetensors")]
    )
    assert args.hidden_dim == sizes

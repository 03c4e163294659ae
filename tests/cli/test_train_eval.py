"""The headless CLI: train, eval, Ctrl-C saves, and clean errors."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import load_checkpoint


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(600, 200)


def test_train_then_eval(tmp_path, data_dir, capsys):
    out = tmp_path / "m.safetensors"
    code = main(["train", "--data-dir", str(data_dir), "--epochs", "2", "--hidden-dim", "32",
                 "--batch-size", "50", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    ckpt = load_checkpoint(out)
    assert ckpt.config.hidden_dim == 32 and ckpt.metadata["epochs_completed"] == 2
    assert "--hidden-dim" in ckpt.metadata["command"]
    assert len(ckpt.metadata["history"]) == 2
    recorded = ckpt.metadata["test_metrics"]["elbo"]
    capsys.readouterr()
    assert main(["eval", str(out), "--data-dir", str(data_dir), "--json", "--iwae", "5"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["elbo"] == pytest.approx(recorded)
    assert metrics["log_likelihood"] > metrics["elbo"] - 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "0", "--out", "x"], "must be >= 1"),
        (["train", "--lr", "-1", "--out", "x"], "positive"),
        (["train", "--device", "tpu", "--out", "x"], "invalid choice"),
    ],
)
def test_bad_arguments_are_refused(args, message, capsys):
    with pytest.raises(SystemExit):
        main(args)
    assert message in capsys.readouterr().err


def test_eval_of_a_bad_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(pickle.dumps({"weights": list(range(100))}))
    assert main(["eval", str(bad)]) == 2
    assert "pickle" in capsys.readouterr().err


def test_missing_dataset_folder_is_a_clean_error(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "m")]) == 2
    assert "no such folder" in capsys.readouterr().err


def _interrupted_run(out, data_dir, signals: int, *more: str) -> str:
    """A long `train` run sent ``signals`` SIGINTs 2 ms apart after its first epoch: its
    output (it must have exited 0)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vae_explorer", "train", "--data-dir", str(data_dir), "--epochs",
         "100000", "--batch-size", "50", "--hidden-dim", "16", "--out", str(out), *more],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.time() + 120
    for line in proc.stdout:  # wait for the first finished epoch
        if "train loss" in line or time.time() > deadline:
            break
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.002)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    return output


def test_ctrl_c_saves_the_model_trained_so_far(tmp_path, data_dir):
    out = tmp_path / "interrupted.safetensors"
    assert "saving the model trained so far" in _interrupted_run(out, data_dir, 1)
    assert load_checkpoint(out).metadata["epochs_completed"] >= 1


def test_impatient_ctrl_cs_still_save_the_model_trained_so_far(tmp_path, data_dir):
    """A second Ctrl-C before the save began (within ~100 ms of the first) used to end the
    process with nothing saved: the whole run lost."""
    out = tmp_path / "interrupted.safetensors"
    output = _interrupted_run(out, data_dir, 3)
    assert output.count("saving the model trained so far") == 1, output
    assert output.count("still stopping: the model is saved first") <= 1  # (told once, if at all)
    assert load_checkpoint(out).metadata["epochs_completed"] >= 1


def test_ctrl_c_in_m1m2s_m1_phase_saves_and_says_m2_never_trained(tmp_path, data_dir):
    """Stopped while M1 trains: saved at once (M2, untrained, is not scored) and said so."""
    out = tmp_path / "m1.safetensors"
    output = _interrupted_run(
        out,
        data_dir,
        1,
        "--model",
        "m1m2",
        "--labels",
        "20",
        "--m1-epochs",
        "100000",
        "--m1-hidden-dim",
        "16",
    )
    assert "M2 never trained" in output, output
    meta = load_checkpoint(out).metadata
    assert meta["m1_epochs"] >= 1 and meta["epochs_completed"] == 0 and meta["test_metrics"] is None

"""`train --out` never replaces what is not a checkpoint of ours, nor the --m1 it reads: a
typo in --out cost a dataset's test images or the M1 VAE with its history (exit 0)."""

from __future__ import annotations

import hashlib

import torch
from cli_helpers import run_cli

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig

TINY = ["--epochs", "1", "--hidden-dim", "16", "--batch-size", "50"]


def _digest(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_a_dataset_file_given_as_out_is_kept(make_idx_folder, capsys):
    data = make_idx_folder(100, 50)
    images = data / "t10k-images-idx3-ubyte.gz"
    before = _digest(images)
    code, err = run_cli(["train", "--quiet", "--data-dir", str(data), *TINY, "--out", str(images)], capsys)
    assert code == 2, err
    assert "exists and is not a VAE Explorer checkpoint" in err and "nothing was trained" in err, err
    assert _digest(images) == before


def test_a_text_file_given_as_out_is_kept(make_idx_folder, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("three weeks of notes")
    code, err = run_cli(
        ["train", "--quiet", "--data-dir", str(make_idx_folder(100, 50)), *TINY, "--out", str(notes)], capsys
    )
    assert code == 2 and "notes.txt exists and is not a VAE Explorer checkpoint" in err, err
    assert notes.read_text() == "three weeks of notes"


def test_the_m1_checkpoint_is_not_replaced_by_the_run_that_reads_it(make_idx_folder, tmp_path, capsys):
    m1 = tmp_path / "m1.safetensors"
    save_checkpoint(VAE(VAEConfig(latent_dim=4, hidden_dim=16)), m1, {"dataset": "mnist"})
    before = _digest(m1)
    data = str(make_idx_folder(100, 50))
    argv = ["train", "--quiet", "--data-dir", data, *TINY, "--latent-dim", "2", "--model", "m1m2",
            "--m1", str(m1), "--classifier-hidden-dim", "16", "--out", str(m1)]  # fmt: skip
    code, err = run_cli(argv, capsys)
    assert code == 2 and "is the --m1 checkpoint this run reads" in err, err
    assert _digest(m1) == before


def test_an_earlier_checkpoint_of_ours_is_replaced_as_before(make_idx_folder, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    torch.manual_seed(0)
    save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=16)), out, {"dataset": "mnist"})
    before = _digest(out)
    code, err = run_cli(
        ["train", "--quiet", "--data-dir", str(make_idx_folder(100, 50)), *TINY, "--out", str(out)], capsys
    )
    assert code == 0, err
    assert _digest(out) != before

"""`vae-explorer gaps`: the five means for a 2-d model, ELBO + IWAE otherwise, clean errors."""

from __future__ import annotations

import argparse
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer import cli
from vae_explorer.commands import gaps
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.data import load_dataset
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.posterior import image_gaps

SHIPPED = Path(__file__).resolve().parents[2] / "trained" / "mnist-bernoulli-z2.safetensors"


@pytest.fixture
def main(monkeypatch):
    """cli.main with the gaps command registered (the lead adds it to cli.COMMAND_MODULES)."""
    if "gaps" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "gaps"))
    return cli.main


def test_add_parser_sets_the_command():
    parser = argparse.ArgumentParser()
    gaps.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gaps", "m.safetensors", "--limit", "5", "--grid", "80"])
    assert args.func is gaps.run and args.limit == 5 and args.grid == 80


def _value(out: str, label: str) -> float:
    line = next(line for line in out.splitlines() if line.strip().startswith(label))
    return float(re.findall(r"-?\d+\.\d+", line)[-1])


def test_gaps_of_the_shipped_model_prints_the_five_means(main, capsys):
    assert main(["gaps", str(SHIPPED), "--limit", "6"]) == 0
    captured = capsys.readouterr()
    expected = image_gaps(load_checkpoint_model(), load_dataset("mnist", "test").images[:6])
    assert "6 images" in captured.out
    rows = [("log p(x)", "log_px"), ("ELBO", "elbo"), ("total gap", "total_gap"),
            ("approximation gap", "approximation_gap"), ("amortisation gap", "amortisation_gap")]  # fmt: skip
    for label, key in rows:
        assert _value(captured.out, label) == pytest.approx(expected[key].mean(), abs=2e-3)
    assert "img" in captured.err  # the tqdm bar is on stderr


def load_checkpoint_model():
    from vae_explorer.core.checkpoints import load_checkpoint

    return load_checkpoint(SHIPPED).model


def test_other_latent_sizes_print_elbo_and_iwae(main, make_idx_folder, tmp_path, capsys):
    torch.manual_seed(0)
    path = save_checkpoint(VAE(VAEConfig(latent_dim=3, hidden_dim=16)), tmp_path / "z3.safetensors",
                           {"dataset": "custom"})  # fmt: skip
    folder = make_idx_folder(10, 4)
    assert main(["gaps", str(path), "--data-dir", str(folder), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "needs a 2-d latent" in out and "3 dimensions" in out
    elbo, iwae = _value(out, "ELBO"), _value(out, "log p(x) (IWAE, K=5000)")
    assert np.isfinite(elbo) and iwae > elbo


def test_errors_are_one_line(main, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert main(["gaps", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["gaps", str(SHIPPED), "--grid", "5"])
    assert "--grid" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["gaps", str(SHIPPED), "--limit", "0"])
    assert "must be >= 1" in capsys.readouterr().err


TRAINED = SHIPPED.parent


@pytest.mark.parametrize("name", ["m1m2-mnist-z2-100", "m1m2-mnist-100"])
def test_labelled_shipped_checkpoints_are_refused_in_one_line(main, name, capsys):
    assert main(["gaps", str(TRAINED / f"{name}.safetensors"), "--limit", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "needs a VAE checkpoint" in err and "m1m2" in err
    assert len(err.strip().splitlines()) == 1


def test_an_m2_checkpoint_is_refused(main, tmp_path, capsys):
    from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel

    path = save_checkpoint(LabelledModel(LabelledConfig("m2", 2, 16, classifier_hidden_dim=16)),
                           tmp_path / "m2.safetensors", {"dataset": "mnist"})  # fmt: skip
    assert main(["gaps", str(path), "--limit", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "labelled m2 model; gaps needs a VAE checkpoint" in err and "Traceback" not in err

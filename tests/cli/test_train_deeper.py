"""`train` for deeper MLPs and other activations: --hidden-dim lists and --activation."""

from __future__ import annotations

import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import load_checkpoint


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(400, 100)


def test_a_two_layer_relu_model_trains_saves_and_reopens(tmp_path, data_dir):
    out = tmp_path / "deep.safetensors"
    code = main(["train", "--data-dir", str(data_dir), "--epochs", "1", "--hidden-dim", "40,24",
                 "--activation", "relu", "--latent-dim", "5", "--batch-size", "50", "--out", str(out),
                 "--quiet"])  # fmt: skip
    assert code == 0
    ckpt = load_checkpoint(out)
    assert ckpt.config.hidden_dim == (40, 24) and ckpt.config.activation == "relu"
    assert ckpt.model.enc_hidden2.weight.shape == (24, 40)
    assert ckpt.model.dec_hidden.weight.shape == (24, 5) and ckpt.model.dec_out.weight.shape == (784, 40)
    assert "--hidden-dim 40,24 --activation relu" in ckpt.metadata["command"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--hidden-dim", "200,x"], "whole numbers"),
        (["--hidden-dim", "200,0"], "must be >= 1"),
        (["--activation", "sigmoid"], "invalid choice"),
    ],
)
def test_bad_layer_settings_are_one_line_errors(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *argv, "--out", str(tmp_path / "x.safetensors")])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_m2_refuses_a_layer_list_and_says_where_m1s_layers_go(tmp_path, data_dir, capsys):
    code = main(["train", "--model", "m2", "--hidden-dim", "30,30", "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "m.safetensors"), "--quiet"])  # fmt: skip
    assert code == 2 and "--m1-hidden-dim" in capsys.readouterr().err

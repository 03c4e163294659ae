"""`train --model m1m2 / m2` and `eval` of a labelled checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import load_checkpoint


@pytest.mark.parametrize("model, labels", [("m1m2", "20"), ("m2", "all")])
def test_train_labelled_then_eval(tmp_path, make_idx_folder, capsys, model, labels):
    folder = make_idx_folder(300, 100)
    out = tmp_path / "m.safetensors"
    code = main(["train", "--model", model, "--labels", labels, "--data-dir", str(folder), "--epochs", "1",
                 "--m1-epochs", "1", "--hidden-dim", "16", "--classifier-hidden-dim", "16",
                 "--m1-hidden-dim", "32", "--latent-dim", "2", "--labelled-batch", "20",
                 "--batch-size", "50", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    ckpt = load_checkpoint(out)
    assert ckpt.kind == model and ckpt.metadata["labels"] == (20 if labels == "20" else 300)
    assert f"--labels {labels}" in ckpt.metadata["command"]
    assert ckpt.arrays["labelled_indices"].dtype == np.int64
    recorded = ckpt.metadata["test_metrics"]["error"]
    capsys.readouterr()
    assert main(["eval", str(out), "--data-dir", str(folder), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["error"] == pytest.approx(recorded) and len(metrics["per_class_accuracy"]) == 10
    assert main(["eval", str(out), "--data-dir", str(folder)]) == 0
    assert "test error" in capsys.readouterr().out
    figures = ["figures", str(out), "--data-dir", str(folder), "--out", str(tmp_path / "f")]
    for command in (["impute-eval", str(out), "--data-dir", str(folder), "--n", "5"], figures):
        assert main(command) == 2
        assert "VAE" in capsys.readouterr().err


def test_label_count_must_be_a_multiple_of_ten(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "m2", "--labels", "105", "--out", "x"])
    assert "multiple of 10" in capsys.readouterr().err


def test_m1m2_reuses_a_trained_m1(tmp_path, make_idx_folder, capsys):
    folder = make_idx_folder(200, 50)
    # --m1-all-units: a 1-epoch M1's units barely move; keep them all
    common = ["--data-dir", str(folder), "--epochs", "1", "--hidden-dim", "16", "--batch-size", "50",
              "--classifier-hidden-dim", "16", "--labelled-batch", "20", "--quiet",
              "--m1-all-units"]  # fmt: skip
    first = tmp_path / "first.safetensors"
    deep_m1 = ["--m1-hidden-dim", "24,12", "--m1-activation", "softplus", "--m1-latent-dim", "3"]
    assert main(["train", "--model", "m1m2", "--labels", "20", "--m1-epochs", "1", *deep_m1,
                 "--latent-dim", "4", "--out", str(first), *common]) == 0  # fmt: skip
    second = tmp_path / "second.safetensors"
    assert main(["train", "--model", "m1m2", "--labels", "20", "--m1", str(first), "--latent-dim", "2",
                 "--out", str(second), *common]) == 0  # fmt: skip
    m1_first, ckpt = load_checkpoint(first).model.m1, load_checkpoint(second)
    assert ckpt.model.config.m1_latent_dim == 3 and ckpt.model.config.m1_hidden_dim == (24, 12)
    assert ckpt.model.config.m1_activation == "softplus"
    assert ckpt.model.m1.enc_hidden2.weight.shape == (12, 24)
    assert "--m1-hidden-dim 24,12 --m1-activation softplus" in ckpt.metadata["command"]
    for name, value in m1_first.state_dict().items():
        assert ckpt.model.m1.state_dict()[name].equal(value), name  # M1 kept as trained
    assert ckpt.metadata["m1_pretrained"] and f"--m1 {first}" in ckpt.metadata["command"]
    assert ckpt.metadata["m1_epochs"] == 1  # the given M1's own epochs, not the option's default
    assert "--m1-all-units" in ckpt.metadata["command"] and "m1_kept_dims" not in ckpt.metadata
    assert "--m1-epochs" not in ckpt.metadata["command"]  # the given M1's own command says
    assert [r["phase"] for r in ckpt.metadata["history"]] == ["m2"]
    capsys.readouterr()
    no_flag = common[:-1]  # without --m1-all-units
    assert main(["train", "--model", "m2", "--m1", str(first), "--out", str(tmp_path / "x"), *no_flag]) == 2
    assert "--m1 is for --model m1m2 only" in capsys.readouterr().err
    assert main(["train", "--model", "m1m2", "--m1", str(tmp_path / "none.safetensors"),
                 "--out", str(tmp_path / "x"), *common]) == 2  # fmt: skip
    assert "none.safetensors" in capsys.readouterr().err


def test_kl_warmup_trains_m1m2s_m1_and_is_refused_for_m2(tmp_path, make_idx_folder, capsys, monkeypatch):
    from vae_explorer.core.training import config as training_config

    seen = []
    real = training_config.TrainConfig.beta_at

    def spy(self, step, batches):
        seen.append((self.kl_warmup_epochs, real(self, step, batches)))
        return seen[-1][1]

    monkeypatch.setattr(training_config.TrainConfig, "beta_at", spy)
    folder = make_idx_folder(200, 50)
    common = ["--data-dir", str(folder), "--epochs", "1", "--hidden-dim", "16", "--batch-size", "50",
              "--classifier-hidden-dim", "16", "--labelled-batch", "20", "--quiet",
              "--kl-warmup", "2"]  # fmt: skip
    out = tmp_path / "m.safetensors"
    assert main(["train", "--model", "m1m2", "--labels", "20", "--m1-epochs", "2", "--m1-hidden-dim", "16",
                 "--m1-latent-dim", "3", "--latent-dim", "2", "--out", str(out), *common]) == 0  # fmt: skip
    # M1 (the VAE's batches of 100): 2 batches an epoch, 2 epochs of warm-up.
    weights = [w for warmup, w in seen if warmup == 2.0]
    assert weights[0] == 0.25 and 0.75 in weights and weights == sorted(weights) and weights[-1] == 1.0
    ckpt = load_checkpoint(out)
    assert ckpt.metadata["train_config"]["kl_warmup_epochs"] == 2.0
    assert "--kl-warmup 2.0" in ckpt.metadata["command"]
    capsys.readouterr()
    assert main(["train", "--model", "m2", "--labels", "20", "--out", str(tmp_path / "x"), *common]) == 2
    assert "--kl-warmup applies to a VAE and to m1m2's M1" in capsys.readouterr().err


def test_classifier_dropout_is_recorded_and_checked(tmp_path, make_idx_folder, capsys):
    folder = make_idx_folder(200, 50)
    common = ["--data-dir", str(folder), "--epochs", "1", "--hidden-dim", "16", "--batch-size", "50",
              "--classifier-hidden-dim", "16", "--labelled-batch", "20", "--quiet"]  # fmt: skip
    out = tmp_path / "m.safetensors"
    assert main(["train", "--model", "m2", "--labels", "20", "--classifier-dropout", "0.5",
                 "--out", str(out), *common]) == 0  # fmt: skip
    ckpt = load_checkpoint(out)
    assert ckpt.model.config.classifier_dropout == 0.5
    assert "--classifier-dropout 0.5" in ckpt.metadata["command"]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--model", "m2", "--classifier-dropout", "1", "--out", str(tmp_path / "x"), *common])
    assert "below 1" in capsys.readouterr().err


def test_m1m2_cuts_a_given_m1_down_to_its_active_units(tmp_path, make_idx_folder, capsys):
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(0)
    m1 = VAE(VAEConfig(latent_dim=4, hidden_dim=16))
    with torch.no_grad():
        m1.enc_mu.weight.mul_(20)
        m1.enc_mu.weight[2] = 0  # unit 2 collapsed: its mean never moves
        m1.enc_mu.bias[2] = 0
    given = save_checkpoint(m1, tmp_path / "m1.safetensors", {"dataset": "mnist"})
    folder = make_idx_folder(200, 50)
    out = tmp_path / "m.safetensors"
    common = ["--data-dir", str(folder), "--epochs", "1", "--hidden-dim", "16", "--batch-size", "50",
              "--classifier-hidden-dim", "16", "--labelled-batch", "20", "--quiet",
              "--labels", "20"]  # fmt: skip
    assert main(["train", "--model", "m1m2", "--m1", str(given), "--out", str(out), *common]) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.metadata["m1_kept_dims"] == [0, 1, 3] and ckpt.model.config.m1_latent_dim == 3
    assert "--m1-all-units" not in ckpt.metadata["command"]
    capsys.readouterr()
    assert main(["train", "--model", "m2", "--m1-all-units", "--out", str(tmp_path / "x"), *common]) == 2
    assert "--m1-all-units is for --model m1m2 only" in capsys.readouterr().err


def test_eval_refuses_a_labelled_model_of_another_class_count(tmp_path, make_idx_folder, capsys):
    """A 5-class q(y|x) scored against ten digit classes: refused, naming both counts (its
    error and per-class table would be meaningless, and the table was cut short)."""
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel

    folder = make_idx_folder(50, 50)
    out = tmp_path / "five.safetensors"
    model = LabelledModel(LabelledConfig(hidden_dim=8, classifier_hidden_dim=8, classes=5))
    save_checkpoint(model, out, {"dataset": "mnist", "labels": 50})
    assert main(["eval", str(out), "--data-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "5 classes" in err and "has 10" in err


@pytest.mark.parametrize("labels", ["[" * 500 + "]" * 500, {"a": 1}, True])
def test_eval_json_passes_on_only_a_label_count(tmp_path, make_idx_folder, capsys, labels):
    """ "labels" in a checkpoint's metadata is a count (or "all"); a deeply nested value
    made the JSON output recurse past Python's limit (a crash reported as a bug)."""
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel

    folder = make_idx_folder(20, 30)
    value = json.loads(labels) if isinstance(labels, str) else labels
    config = LabelledConfig("m2", latent_dim=2, hidden_dim=8, classifier_hidden_dim=8)
    metadata = {"dataset": "mnist", "labels": value}
    ckpt = save_checkpoint(LabelledModel(config), tmp_path / "m2.safetensors", metadata)
    assert main(["eval", str(ckpt), "--data-dir", str(folder), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] is None


def test_plain_eval_says_which_classes_the_split_lacks(tmp_path, make_idx_folder, capsys):
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel

    folder = make_idx_folder(20, 3)  # test digits 7, 2, 1
    config = LabelledConfig("m2", latent_dim=2, hidden_dim=8, classifier_hidden_dim=8)
    ckpt = save_checkpoint(LabelledModel(config), tmp_path / "m2.safetensors", {"dataset": "mnist"})
    assert main(["eval", str(ckpt), "--data-dir", str(folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("no images of it in this split") == 7 and "nan" not in out, out


def test_m1m2_on_a_single_training_image_keeps_all_of_m1s_units(tmp_path, make_idx_folder, capsys):
    """Which of M1's units are active is a variance over images: with one there is none to
    measure, so all are kept (it stopped with "activity needs means of at least 2 images")."""
    folder = make_idx_folder(1, 20)
    out = tmp_path / "m.safetensors"
    code = main(["train", "--model", "m1m2", "--labels", "all", "--data-dir", str(folder), "--epochs", "1",
                 "--m1-epochs", "1", "--hidden-dim", "8", "--classifier-hidden-dim", "8",
                 "--m1-hidden-dim", "8", "--m1-latent-dim", "3", "--labelled-batch", "1", "--batch-size", "1",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert load_checkpoint(out).model.config.m1_latent_dim == 3

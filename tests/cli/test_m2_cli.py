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
    for command in (["impute-eval", str(out), "--data-dir", str(folder), "--n", "5"],
                    ["figures", str(out), "--data-dir", str(folder), "--out", str(tmp_path / "f")]):  # fmt: skip
        assert main(command) == 2
        assert "VAE" in capsys.readouterr().err


def test_label_count_must_be_a_multiple_of_ten(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "m2", "--labels", "105", "--out", "x"])
    assert "multiple of 10" in capsys.readouterr().err

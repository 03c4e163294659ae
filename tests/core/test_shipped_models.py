"""The shipped checkpoints load and evaluate to the metrics recorded with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.data import DatasetError, load_dataset
from vae_explorer.core.evaluation import evaluate

TRAINED = Path(__file__).resolve().parents[2] / "trained"
EXPECTED = ["mnist-bernoulli-z2", "mnist-gaussian-z2", "fashion-mnist-bernoulli-z2", "mnist-bernoulli-z10"]


def _vae_stems(suffix: str) -> list[str]:
    """The shipped VAEs (the labelled models have their own test: test_labelled_shipped.py)."""
    return sorted(p.stem for p in TRAINED.glob(f"*.{suffix}") if not p.stem.startswith(("m1m2-", "m2-")))


def test_all_shipped_models_are_present():
    assert _vae_stems("safetensors") == sorted(EXPECTED)
    assert _vae_stems("json") == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_shipped_model_reproduces_its_recorded_metrics(name):
    record = json.loads((TRAINED / f"{name}.json").read_text())
    ckpt = load_checkpoint(TRAINED / f"{name}.safetensors")
    assert ckpt.config.latent_dim == int(name.rsplit("-z", 1)[1]) and ckpt.config.hidden_dim == 256
    assert ckpt.metadata["command"] == record["command"]
    assert ckpt.metadata["test_metrics"] == record["test_metrics"]
    try:
        test = load_dataset(record["dataset"], "test")
    except DatasetError:
        pytest.skip(f"{record['dataset']} is not installed here (Debian: dataset-fashion-mnist)")
    metrics = evaluate(ckpt.model, test.images)
    for key in ("elbo", "recon", "kl"):
        assert metrics[key] == pytest.approx(record["test_metrics"][key], abs=1e-3)


def test_shipped_models_keep_their_training_history():
    from vae_explorer.core.history import TrainingHistory

    for name in EXPECTED:
        history = TrainingHistory.read(TRAINED / f"{name}.safetensors")
        assert history is not None and list(history.epochs)[-1] == 50, name
        assert (TRAINED / f"{name}.safetensors").stat().st_size < 20e6


def test_seed_model_meets_the_quality_target():
    record = json.loads((TRAINED / "mnist-bernoulli-z2.json").read_text())
    assert record["epochs_completed"] == 50
    assert record["test_metrics"]["elbo"] >= -146.0

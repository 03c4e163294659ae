"""The shipped labelled models (trained/m1m2-*): they load, classify the MNIST test set at
the error recorded beside them, decode styles to images, and record their 100 labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.data import DatasetError, load_dataset
from vae_explorer.core.labelled import INDICES_KEY, classification_metrics, predict_labels

TRAINED = Path(__file__).resolve().parents[2] / "trained"
SHIPPED = {"m1m2-mnist-100": 50, "m1m2-mnist-z2-100": 2}  # name: latent size of the style z
M2_PUBLISHED_100 = 0.1197  # Kingma et al. 2014, Table 1: M2 with 100 labels


def _record(name: str) -> dict:
    return json.loads((TRAINED / f"{name}.json").read_text())


def _mnist(split: str):
    try:
        return load_dataset("mnist", split)
    except DatasetError:
        pytest.skip("MNIST is not installed here")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_labelled_model_loads_and_records_its_labels(name):
    ckpt = load_checkpoint(TRAINED / f"{name}.safetensors")
    record = _record(name)
    assert ckpt.kind == "m1m2" and ckpt.model.latent_dim == SHIPPED[name]
    assert ckpt.metadata["labels"] == 100 and ckpt.metadata["command"] == record["command"]
    assert "--labels 100" in record["command"]
    indices = ckpt.arrays[INDICES_KEY]
    assert indices.dtype == np.int64 and indices.shape == (100,)
    assert np.all(np.diff(indices) > 0) and 0 <= indices.min() and indices.max() < 60_000
    labels = _mnist("train").labels[indices]
    assert np.bincount(labels, minlength=10).tolist() == [10] * 10


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_labelled_model_classifies_at_its_recorded_error(name):
    ckpt = load_checkpoint(TRAINED / f"{name}.safetensors")
    recorded = _record(name)["test_metrics"]
    test = _mnist("test")
    metrics = classification_metrics(predict_labels(ckpt.model, test.images), test.labels)
    assert metrics["error"] == pytest.approx(recorded["error"], abs=5e-4)  # 0.05 points
    np.testing.assert_allclose(metrics["per_class_accuracy"], recorded["per_class_accuracy"], atol=5e-3)
    assert ckpt.metadata["test_metrics"]["error"] == pytest.approx(recorded["error"], abs=1e-12)


def test_shipped_100_label_model_beats_published_m2():
    assert _record("m1m2-mnist-100")["test_metrics"]["error"] < M2_PUBLISHED_100


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_labelled_model_decodes_every_digit(name):
    model = load_checkpoint(TRAINED / f"{name}.safetensors").model
    z = torch.randn(20, model.latent_dim, generator=torch.Generator().manual_seed(0))
    images = model.decode(z, torch.arange(20) % 10)
    assert images.shape == (20, 784) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    one = model.decode(z[:3], 4)
    torch.testing.assert_close(one, model.decode(z[:3], torch.full((3,), 4)))
    assert not torch.allclose(one, model.decode(z[:3], 7))  # the class changes the drawing

"""Labelled models: the label split, the public API, checkpoints and a short run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint_file import read_arrays
from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.labelled import (
    LabelledConfig,
    LabelledJob,
    LabelledModel,
    labelled_indices,
    run_labelled_job,
    unlabelled_indices,
)
from vae_explorer.core.model import ConfigError, InputError
from vae_explorer.core.training import Snapshot, TrainConfig, TrainingFinished, save_snapshot


def _model(kind: str = "m2", latent: int = 3) -> LabelledModel:
    torch.manual_seed(0)
    return LabelledModel(LabelledConfig(kind, latent, 16, "bernoulli", 8, m1_latent_dim=6, m1_hidden_dim=12))


def test_label_split_is_balanced_seeded_and_disjoint(mnist_test):
    labels = mnist_test.labels
    chosen = labelled_indices(labels, 100, seed=4)
    assert chosen.dtype == np.int64 and chosen.shape == (100,) and len(set(chosen)) == 100
    assert np.bincount(labels[chosen], minlength=10).tolist() == [10] * 10
    np.testing.assert_array_equal(chosen, labelled_indices(labels, 100, seed=4))
    assert not np.array_equal(chosen, labelled_indices(labels, 100, seed=5))
    rest = unlabelled_indices(len(labels), chosen)
    assert len(rest) == len(labels) - 100 and not set(rest) & set(chosen)
    assert labelled_indices(labels, None, 0).shape == (len(labels),)
    with pytest.raises(ConfigError, match="multiple of 10"):
        labelled_indices(labels, 105, 0)
    with pytest.raises(ConfigError, match="class 3"):
        labelled_indices(labels[labels != 3], 100, 0)


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_public_api_takes_images_as_elsewhere(small_images, kind):
    model = _model(kind).eval()
    uint8 = small_images[:5]
    floats = torch.as_tensor(uint8.reshape(5, 784)).float() / 255
    labels = model.classify(uint8)
    assert labels.dtype == torch.int64 and labels.shape == (5,)
    assert torch.equal(labels, model.classify(floats.numpy()))
    mu, logvar = model.encode(uint8)
    mu_y, _ = model.encode(uint8, labels)
    assert mu.shape == logvar.shape == (5, 3) and torch.equal(mu, mu_y)
    images = model.decode(mu, 4)
    assert images.shape == (5, 784) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert model.classify(images).shape == (5,)  # a decoder's output feeds back in
    by_class = model.decode(mu[:1].expand(10, -1), torch.arange(10))
    assert by_class.shape == (10, 784) and not torch.allclose(by_class[0], by_class[1])
    with pytest.raises(InputError, match="0..9"):
        model.decode(mu, 10)
    with pytest.raises(InputError, match="3 values"):
        model.decode(torch.zeros(2, 4), 1)


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_checkpoint_round_trip_dispatches_on_kind(tmp_path, small_images, kind):
    model = _model(kind).eval()
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"labels": 100},
                           arrays={"labelled_indices": np.arange(100, dtype=np.int64)})  # fmt: skip
    ckpt = load_checkpoint(path)
    assert ckpt.kind == kind and isinstance(ckpt.model, LabelledModel)
    assert ckpt.metadata["labels"] == 100 and ckpt.arrays["labelled_indices"].dtype == np.int64
    assert torch.equal(ckpt.model.classify(small_images[:50]), model.classify(small_images[:50]))
    with pytest.raises(CheckpointError, match="VAE checkpoint"):
        ckpt.require_vae("gaps")


def test_checkpoint_shapes_and_kinds_are_checked(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    model = _model()
    path = save_checkpoint(model, tmp_path / "m.safetensors")
    with safe_open(path, "pt") as f:
        header = dict(f.metadata())
    tensors = load_file(path)
    for change, message in (({"kind": "m9"}, "unknown model kind"), ({"hidden_dim": 17}, "shape"),
                            ({"classifier_hidden_dim": 10**6}, "shape")):  # fmt: skip
        meta = dict(header)
        meta["config"] = json.dumps({**json.loads(header["config"]), **change})
        bad = tmp_path / "bad.safetensors"
        save_file(tensors, bad, metadata=meta)
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(bad)
    tensors["m2.cls_out.bias"][3] = float("nan")
    save_file(tensors, tmp_path / "nan.safetensors", metadata=header)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path / "nan.safetensors")


@pytest.mark.parametrize("labels", [20, None])
def test_a_short_run_records_the_split_and_saves(tmp_path, make_idx_folder, labels):
    folder = make_idx_folder(400, 100)
    config = LabelledConfig("m1m2", 4, 16, "bernoulli", 16, m1_latent_dim=8, m1_hidden_dim=32)
    job = LabelledJob(config, TrainConfig(epochs=2, batch_size=50, device="cpu"), labels=labels,
                      m1_epochs=1, labelled_batch=20, dataset=str(folder))  # fmt: skip
    events = list(run_labelled_job(job))
    last = [e for e in events if isinstance(e, Snapshot)][-1]
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.stopped
    m2_records = [r for r in finished.history if r["phase"] == "m2"]
    assert len(m2_records) == 2 and all(0 <= r["test_error"] <= 1 for r in m2_records)
    path = save_snapshot(tmp_path / "run.safetensors", last, finished.metadata)
    ckpt = load_checkpoint(path)
    count = 20 if labels else 400
    assert ckpt.metadata["labels"] == count and ckpt.metadata["all_labels"] == (labels is None)
    train_labels = np.asarray(_train_labels(folder))
    expected = labelled_indices(train_labels, labels, 0)
    np.testing.assert_array_equal(read_arrays(path)[1]["labelled_indices"], expected)
    assert ckpt.arrays["test_predicted"].shape == (100,)
    assert ckpt.metadata["test_metrics"]["error"] == pytest.approx(
        float(np.mean(ckpt.model.classify(_test_images(folder)).numpy() != _test_labels(folder)))
    )


def _train_labels(folder):
    from vae_explorer.core.data import load_dataset

    return load_dataset(str(folder), "train", root=folder).labels


def _test_images(folder):
    from vae_explorer.core.data import load_dataset

    return load_dataset(str(folder), "test", root=folder).images


def _test_labels(folder):
    from vae_explorer.core.data import load_dataset

    return load_dataset(str(folder), "test", root=folder).labels


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_encode_classified_is_encode_and_classify_in_one_pass(kind):
    """(What a training snapshot stores: the style codes and the classes they are under.)"""
    torch.manual_seed(0)
    model = LabelledModel(
        LabelledConfig(kind, 2, 16, "bernoulli", 16, m1_latent_dim=4, m1_hidden_dim=16)
    ).eval()
    x = torch.rand(64, 784)
    mu, logvar, labels = model.encode_classified(x)
    expected_mu, expected_logvar = model.encode(x)
    torch.testing.assert_close(mu, expected_mu)
    torch.testing.assert_close(logvar, expected_logvar)
    assert torch.equal(labels, model.classify(x)) and labels.dtype == torch.int64

"""The judge classifier: accurate, cached as safetensors, retrained when the cache is bad."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core import classifier as clf_mod
from vae_explorer.core.classifier import (
    ClassifierConfig,
    DigitClassifier,
    cache_dir,
    get_classifier,
    load_or_train_classifier,
)


def test_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path


def test_small_training_caches_a_safetensors_file_and_reloads_it(small_images, mnist_test,
                                                                  monkeypatch):  # fmt: skip
    labels = mnist_test.labels[:2000]
    config = ClassifierConfig(epochs=2)
    net = load_or_train_classifier("tiny", small_images[:1500], labels[:1500], config)
    files = list(cache_dir().glob("classifier-tiny-*.safetensors"))
    assert len(files) == 1 and files[0].read_bytes()[8:9] == b"{"  # safetensors, not pickle
    acc = net.accuracy(small_images[1500:], labels[1500:])
    assert acc > 0.7  # 1,500 digits, two epochs: far above chance (0.1)

    def fail(*args, **kwargs):
        raise AssertionError("should have used the cache")

    monkeypatch.setattr(clf_mod, "train_classifier", fail)
    again = load_or_train_classifier("tiny", small_images[:1500], labels[:1500], config)
    np.testing.assert_array_equal(again.predict(small_images[1500:]), net.predict(small_images[1500:]))


def test_a_corrupt_cache_file_is_replaced(small_images, mnist_test):
    labels = mnist_test.labels[:300]
    config = ClassifierConfig(epochs=1, seed=5)
    load_or_train_classifier("corrupt", small_images[:300], labels, config)
    (path,) = cache_dir().glob("classifier-corrupt-*.safetensors")
    path.write_bytes(b"garbage")
    net = load_or_train_classifier("corrupt", small_images[:300], labels, config)
    assert isinstance(net, DigitClassifier) and path.read_bytes() != b"garbage"


def test_predict_accepts_uint8_and_float_images(small_images, mnist_test):
    net = load_or_train_classifier("tiny2", small_images[:500], mnist_test.labels[:500],
                                   ClassifierConfig(epochs=1))  # fmt: skip
    a = net.predict(small_images[:20])
    b = net.predict(small_images[:20].reshape(20, -1).astype(np.float32) / 255)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.shape == (20,)


@pytest.mark.slow
def test_mnist_classifier_is_over_95_percent_accurate(mnist_test):
    net = get_classifier("mnist")
    assert net.accuracy(mnist_test.images, mnist_test.labels) > 0.95


def test_a_cache_with_nan_weights_is_retrained_not_trusted(small_images, mnist_test, monkeypatch):
    """A well-formed file whose weights are NaN loaded without complaint: every image got
    the same class and impute-eval printed 10% for every method."""
    import torch
    from safetensors.torch import load_file, save_file

    labels = mnist_test.labels[:300]
    config = ClassifierConfig(epochs=1, seed=5)
    load_or_train_classifier("nan", small_images[:300], labels, config)
    (path,) = cache_dir().glob("classifier-nan-*.safetensors")
    weights = load_file(path)
    save_file({k: torch.full_like(v, float("nan")) for k, v in weights.items()}, path)
    retrained = []
    real = clf_mod.train_classifier
    monkeypatch.setattr(clf_mod, "train_classifier", lambda *a: retrained.append(1) or real(*a))
    net = load_or_train_classifier("nan", small_images[:300], labels, config)
    assert retrained == [1]
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert net.accuracy(small_images[:300], labels) > 0.5
    assert all(torch.isfinite(v).all() for v in load_file(path).values())  # the file made anew

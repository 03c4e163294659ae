"""A run that goes non-finite says what was seen (which term, the gradients, the data) and
lists the likely causes for its own settings, most likely first (issue 10)."""

from __future__ import annotations

import re

import pytest
import torch

import vae_explorer.core.training.loop as loop_module
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import TrainConfig, TrainingFailed, train
from vae_explorer.core.training.diagnosis import NonFinite, failure_message, likely_causes
from vae_explorer.core.training.mlp_step import MLPStep


def _failure(images, monkeypatch=None, **settings) -> TrainingFailed:
    torch.manual_seed(0)
    config = TrainConfig(**{"epochs": 2, "batch_size": 20, "log_every": 5, **settings})
    events = list(train(VAE(VAEConfig(hidden_dim=32)), images, config))
    failed = [e for e in events if isinstance(e, TrainingFailed)]
    assert len(failed) == 1, "the run should have failed"
    return failed[0]


def _causes(message: str) -> list[str]:
    listed = message.split("most likely first:")[1].split(" The model keeps")[0]
    return [c.strip() for c in re.split(r"\(\d+\) ", listed) if c.strip()]


def test_a_huge_beta_is_named_first(small_images):
    failed = _failure(small_images[:400], beta=1e300)
    causes = _causes(failed.message)
    assert "beta = 1e+300" in causes[0], failed.message
    assert "learning rate" not in causes[0]
    assert "non-finite" in failed.message and "last good weights" in failed.message


def test_a_huge_learning_rate_is_named_first(small_images):
    failed = _failure(small_images[:400], lr=1e9)
    causes = _causes(failed.message)
    assert "learning rate 1e+09" in causes[0] and "default" in causes[0], failed.message
    assert not any("beta" in c for c in causes)  # beta = 1 is no suspect


class _Poisoned(MLPStep):
    """The real step, with one term of one batch replaced by NaN."""

    term = "recon"
    at_call = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def __call__(self, x, eps, x_low=None):
        recon, kl = super().__call__(x, eps, x_low)
        self.calls += 1
        if self.calls == self.at_call:
            nan = torch.tensor(float("nan"))
            return (nan, kl) if self.term == "recon" else (recon, nan)
        return recon, kl


@pytest.mark.parametrize(("term", "said"), [("recon", "reconstruction term"), ("kl", "KL term")])
def test_the_term_that_went_non_finite_is_named(small_images, monkeypatch, term, said):
    monkeypatch.setattr(_Poisoned, "term", term)
    monkeypatch.setattr(loop_module, "MLPStep", _Poisoned)
    failed = _failure(small_images[:400])
    assert f"the {said} of the loss became non-finite" in failed.message, failed.message
    assert "batch 3:" in failed.message  # the batch where it happened, not the window's end
    assert failed.batch == 5  # the event marks where the loop noticed (end of the window)


def test_nan_data_that_got_past_validation_is_named(small_images, monkeypatch):
    """as_image_tensor refuses NaN pixels; should any reach the loop, it blames the data."""
    real = loop_module.as_image_tensor

    def leaky(images):
        t = real(images).clone()
        t[7, 100:103] = float("nan")
        return t

    monkeypatch.setattr(loop_module, "as_image_tensor", leaky)
    failed = _failure(small_images[:400])
    causes = _causes(failed.message)
    assert "training data holds non-finite values" in failed.message
    assert len(causes) == 1 and "3 pixel value(s)" in causes[0], failed.message


def test_causes_are_ordered_by_the_settings():
    found = NonFinite("kl", epoch=1, batch=4)
    big_beta = likely_causes(found, TrainConfig(beta=50.0, lr=3e-3))
    assert "beta = 50" in big_beta[0] and "learning rate" in big_beta[1]
    big_lr = likely_causes(NonFinite("recon", 1, 4), TrainConfig(beta=2.0, lr=0.5))
    assert "learning rate 0.5" in big_lr[0] and "beta = 2" in big_lr[1]
    huge_lr = likely_causes(NonFinite("recon", 1, 4), TrainConfig(lr=1e308))  # its ratio overflows
    assert "learning rate 1e+308 is far above the default 0.003" in huge_lr[0] and "inf" not in huge_lr[0]
    large_lr = likely_causes(NonFinite("recon", 1, 4), TrainConfig(lr=1e300))  # a 300-digit ratio
    assert "learning rate 1e+300 is 3.3e+302x the default" in large_lr[0]
    assert "is 33x the default" in likely_causes(NonFinite("recon", 1, 4), TrainConfig(lr=0.1))[0]
    ordinary = likely_causes(NonFinite("kl", 1, 4), TrainConfig())
    assert "learning rate 0.003 may still be too high" in ordinary[0]
    assert any("log-variance" in c for c in ordinary) and not any("beta" in c for c in ordinary)
    message = failure_message(NonFinite("weighted_kl", 2, 9), TrainConfig(beta=1e300))
    assert message.startswith("Training stopped at epoch 2, batch 9: beta x KL overflowed")

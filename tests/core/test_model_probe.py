"""core.model_probe: a model whose weights are finite but overflow is found, and the network
named; a sound model passes; results holding inf or NaN are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import CheckpointError
from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.model_probe import DamagedModelError, check_model, faulty_network, nonfinite

FLIPPED = 6.3e36  # 0.0185 with its top exponent bit flipped: finite, far too large


def _vae(hidden: int | tuple[int, ...] = 16, activation: str = "tanh") -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=2, hidden_dim=hidden, activation=activation))


def _labelled(kind: str) -> LabelledModel:
    torch.manual_seed(0)
    config = LabelledConfig(kind, latent_dim=2, hidden_dim=8, classifier_hidden_dim=8, m1_latent_dim=4,
                            m1_hidden_dim=8)  # fmt: skip
    return LabelledModel(config)


@pytest.fixture(scope="module")
def images(mnist_test):
    return mnist_test.images[:300]


@pytest.mark.parametrize("hidden", [16, (16, 8)])
def test_a_sound_model_passes_and_keeps_its_mode(images, hidden):
    model = _vae(hidden).train()
    assert faulty_network(model, images) is None
    assert model.training  # put back as it was
    check_model(model, images, "sound.safetensors")  # no error


@pytest.mark.parametrize(
    ("damage", "network"),
    [
        (lambda m: m.enc_logvar.weight.data.__setitem__((0, 0), FLIPPED), "encoder"),  # exp(logvar) = inf
        (lambda m: m.enc_logvar.bias.data.fill_(-200.0), "encoder"),  # 1 / variance = inf
        (lambda m: m.enc_mu.weight.data.mul_(1e37), "encoder"),
        (lambda m: m.dec_out.weight.data.fill_(3e38), "decoder"),
        (lambda m: m.dec_out.bias.data.fill_(FLIPPED), "decoder"),  # log p(x|z) sums to -inf
    ],
)
def test_the_network_that_overflows_is_named(images, damage, network):
    model = _vae()
    damage(model)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())  # loads fine
    assert faulty_network(model, images) == network


def test_check_model_raises_a_checkpoint_error_naming_the_file_and_network(images, tmp_path):
    model = _vae()
    model.enc_logvar.weight.data[0, 0] = FLIPPED
    with pytest.raises(DamagedModelError) as caught:
        check_model(model, images, tmp_path / "flipped.safetensors")
    assert isinstance(caught.value, CheckpointError)  # the CLI's "bad input", exit 2
    text = str(caught.value)
    assert "flipped.safetensors" in text and "the encoder gives non-finite values" in text
    assert "likely damaged" in text


@pytest.mark.parametrize(
    ("kind", "damage", "network"),
    [
        ("m2", lambda m: m.m2.cls_out.weight.data.fill_(3e38), "classifier q(y|x)"),
        ("m2", lambda m: m.m2.enc_logvar.bias.data.fill_(200.0), "encoder"),
        ("m2", lambda m: m.m2.dec_out.weight.data.fill_(3e38), "decoder"),
        ("m1m2", lambda m: m.m1.enc_logvar.bias.data.fill_(200.0), "M1 encoder"),
        ("m1m2", lambda m: m.m1.dec_out.weight.data.fill_(3e38), "M1 decoder"),
        ("m1m2", lambda m: m.m2.enc_mu.weight.data.fill_(3e38), "M2 encoder"),
    ],
)
def test_labelled_models_name_the_network(images, kind, damage, network):
    model = _labelled(kind)
    assert faulty_network(model, images) is None
    damage(model)
    assert faulty_network(model, images) == network


def test_only_the_first_images_are_probed_and_none_is_no_verdict(images):
    model = _vae(activation="relu")  # tanh would saturate and hide the damage
    assert faulty_network(model, images[:0]) is None
    # A weight of a pixel that is dark in every probed image changes nothing there.
    blank = np.zeros((5, 28, 28), np.uint8)
    model.enc_hidden.weight.data[:, 0] = FLIPPED
    assert faulty_network(model, blank) is None
    lit = blank.copy()
    lit[:, 0, 0] = 255
    assert faulty_network(model, np.concatenate([blank, lit]), limit=5) is None
    assert faulty_network(model, np.concatenate([blank, lit]), limit=10) is not None


def test_nonfinite_names_the_results_holding_inf_or_nan():
    results = {
        "elbo": -float("inf"),
        "recon": 12.5,
        "kl": float("nan"),
        "grid": np.array([[0.0, np.nan]]),
        "mu": torch.tensor([1.0, 2.0]),
        "accuracy": None,
    }
    assert nonfinite(results) == ["elbo", "kl", "grid"]
    assert nonfinite({"ok": np.zeros(3), "also": 1}) == []

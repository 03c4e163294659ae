"""A user's model that passes the 3-image probe can still misbehave: the probe refuses a
scalar decode, a 0-d latent and an overflowing variance, and every later encode/decode is
checked too (ExternalModelError naming the method and what is wrong, never NaN or a bad
shape handed on to the views)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from external_models import DecodeWrongLater, HugeLogvar, ProtocolModel, ScalarDecode

from vae_explorer.core.external import ExternalModelError, wrap_external
from vae_explorer.core.latent import decode_latents, encode_images

Base = ProtocolModel


class ZeroDim(Base):
    def encode(self, x):
        x = x.reshape(len(x), -1)
        return x[:, :0], x[:, :0]


class NaNLater(Base):
    """Fine on the probe's 3 images; NaN for images 3 and on of a larger batch."""

    def encode(self, x):
        mu, logvar = super().encode(x)
        if len(x) > 3:
            mu = mu.clone()
            mu[3:] = float("nan")
        return mu, logvar


class HugeLogvarLater(Base):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu, logvar + (1e4 if len(x) > 3 else 0)


class InfDecodeLater(Base):
    def decode(self, z):
        out = super().decode(z)
        return out if len(z) <= 3 else out / 0


class RaiseLater(Base):
    def decode(self, z):
        if len(z) > 3:
            raise RuntimeError("boom")
        return super().decode(z)


class ExitLater(Base):
    def decode(self, z):
        if len(z) > 3:
            raise SystemExit(3)  # (a script's sys.exit() inside the model's code)
        return super().decode(z)


class ResizedLater(Base):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return (mu, logvar) if len(x) <= 3 else (mu[:, :1], logvar[:, :1])


@pytest.mark.parametrize(
    "module, words",
    [
        (ScalarDecode(), "got shape []"),
        (ZeroDim(), "latent size must be at least 1"),
        (HugeLogvar(), "log-variance too large for exp"),
    ],
)
def test_the_probe_refuses(module, words):
    with pytest.raises(ExternalModelError) as info:
        wrap_external(module)
    assert words in str(info.value)


IMAGES = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    "module, words",
    [
        (NaNLater(), "your model's encode returned NaN values in mu for 97 of 100 images"),
        (HugeLogvarLater(), "your model's encode returned a log-variance too large for exp"),
        (ResizedLater(), "latent codes of size 1, earlier 2"),
    ],
)
def test_every_encode_is_checked(module, words):
    model = wrap_external(module)
    with pytest.raises(ExternalModelError) as info:
        encode_images(model, IMAGES)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "module, words",
    [
        (DecodeWrongLater(), "decode must return 10 images of 28 x 28 pixels"),
        (InfDecodeLater(), "your model's decode returned infinite pixels for 10 of 10 latent codes"),
        (RaiseLater(), "your model's decode failed on 10 latent codes: RuntimeError: boom"),
        (ExitLater(), "your model's decode failed on 10 latent codes: SystemExit: 3"),
    ],
)
def test_every_decode_is_checked(module, words):
    model = wrap_external(module)
    with pytest.raises(ExternalModelError) as info:
        decode_latents(model, np.zeros((10, 2), np.float32))
    assert words in str(info.value)


def test_a_good_model_still_works_on_any_batch():
    model = wrap_external(Base())
    mu, logvar = encode_images(model, IMAGES)
    assert mu.shape == logvar.shape == (100, 2) and np.isfinite(mu).all()
    assert decode_latents(model, mu).shape == (100, 28, 28)
    assert decode_latents(model, np.zeros((0, 2), np.float32)).shape == (0, 28, 28)


def test_an_empty_batch_is_no_error():
    model = wrap_external(Base())
    mu, logvar = model.encode(torch.zeros(0, 784))
    assert mu.shape == (0, 2) and logvar.shape == (0, 2)
    assert model.decode(torch.zeros(0, 2)).shape == (0, 784)


class ExitAtOnce(Base):
    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def encode(self, x):
        if self.where == "encode":
            raise SystemExit(3)
        return super().encode(x)

    def decode(self, z):
        if self.where == "decode":
            raise SystemExit(3)
        return super().decode(z)


@pytest.mark.parametrize("where", ["encode", "decode"])
def test_a_model_that_exits_during_the_first_check_is_refused(where):
    """An exit() in the model's code ended the caller's session (a notebook's kernel)."""
    with pytest.raises(ExternalModelError, match="SystemExit"):
        wrap_external(ExitAtOnce(where))

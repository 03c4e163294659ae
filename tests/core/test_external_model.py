"""The "your own model" protocol: checked on a tiny batch, then usable by the core views."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vae_explorer.core.external import ExternalModelError, wrap_external
from vae_explorer.core.interpolation import decode_path
from vae_explorer.core.latent import decode_latents, encode_images
from vae_explorer.core.projection import PCAProjection, weights_hash
from vae_explorer.core.traversal import traversal_grid


class ExamplesVAE(nn.Module):
    """pytorch/examples' VAE (784-400-20, relu), as a user would bring it."""

    def __init__(self, latent: int = 20) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 40), nn.Linear(40, latent), nn.Linear(40, latent)
        self.fc3, self.fc4 = nn.Linear(latent, 40), nn.Linear(40, 784)

    def encode(self, x):
        h = torch.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z))))


class ConvShaped(ExamplesVAE):
    """Wants [B, 1, 28, 28] and returns [B, 1, 28, 28]."""

    def encode(self, x):
        assert x.ndim == 4, "needs [B, 1, 28, 28]"
        return super().encode(x.flatten(1))

    def decode(self, z):
        return super().decode(z).view(-1, 1, 28, 28)


def test_a_conforming_module_works_with_the_core_views(small_images):
    torch.manual_seed(0)
    model = wrap_external(ExamplesVAE(latent=5))
    assert model.latent_dim == 5 and model.image_layout == "flat"
    mu, logvar = encode_images(model, small_images[:30])
    assert mu.shape == logvar.shape == (30, 5)
    images = decode_latents(model, mu[:4])
    assert images.shape == (4, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert decode_path(model, mu[0], mu[1], 5, "spherical").shape == (5, 784)
    assert traversal_grid(model, mu[0], dims=[0, 1], latent_means=mu).shape == (2, 9, 28, 28)
    pca = PCAProjection.fit(mu)
    assert decode_latents(model, pca.from_plane([[0.5, -0.5]])).shape == (1, 28, 28)
    assert len(weights_hash(model)) == 16
    assert wrap_external(model) is model


def test_image_layout_is_found():
    torch.manual_seed(0)
    model = wrap_external(ConvShaped(latent=3))
    assert model.image_layout == "chw"
    out = model.decode(torch.zeros(2, 3))
    assert out.shape == (2, 784)


class NoDecode(nn.Module):
    def encode(self, x):
        return x[:, :2], x[:, :2]


class Logits(ExamplesVAE):
    def decode(self, z):
        return self.fc4(torch.relu(self.fc3(z))) * 50


class OneOutput(ExamplesVAE):
    def encode(self, x):
        return super().encode(x)[0]


class WrongBatch(ExamplesVAE):
    def decode(self, z):
        return super().decode(z)[:1]


@pytest.mark.parametrize(
    "module, words",
    [
        (NoDecode(), "no decode method"),
        (Logits(), "in [0, 1]"),
        (OneOutput(), "(mu, logvar)"),
        (WrongBatch(), "must return 3 images"),
        (nn.Linear(2, 2), "no encode or decode"),
        ("not a module", "torch.nn.Module"),
    ],
)
def test_what_is_missing_or_wrong_is_named(module, words):
    torch.manual_seed(0)
    with pytest.raises(ExternalModelError) as info:
        wrap_external(module)
    assert words in str(info.value)


def test_the_module_keeps_its_training_mode_after_the_check():
    module = ExamplesVAE(latent=2).train()
    wrap_external(module)
    assert module.training
    assert np.isfinite(encode_images(wrap_external(module), np.zeros((2, 784), np.float32))[0]).all()


def test_an_eval_mode_module_stays_in_eval_mode():
    module = ExamplesVAE(latent=2).eval()
    encode_images(wrap_external(module), np.zeros((2, 784), np.float32))
    assert not module.training

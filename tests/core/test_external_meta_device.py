"""explore()'s documented errors for a model that holds no values (built on the 'meta'
device, never loaded) and for complex numbers (images, mu, decoded pixels), whose imaginary
parts a cast would silently drop: ExternalModelError / ValueError naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from external_models import ProtocolModel

import vae_explorer
from vae_explorer.core.external import ExternalModelError, wrap_external
from vae_explorer.explore import as_dataset

IMAGES = np.random.default_rng(0).random((20, 784)).astype(np.float32)


def test_a_model_on_the_meta_device_is_refused_up_front():
    with torch.device("meta"):
        model = ProtocolModel()
    with pytest.raises(ExternalModelError, match=r"weights are on the 'meta' device \(not loaded\)"):
        wrap_external(model)
    # explore() says so before any window is made (no Qt needed to get there)
    with pytest.raises(ExternalModelError, match="'meta' device"):
        vae_explorer.explore(model, IMAGES, block=False)


def test_a_model_with_only_a_meta_buffer_is_refused_too():
    model = ProtocolModel()
    model.register_buffer("scale", torch.ones(2, device="meta"))
    with pytest.raises(ExternalModelError, match=r"'meta' device \(not loaded\): scale"):
        wrap_external(model)


class MetaOutput(ProtocolModel):
    """Real weights, but encode hands back tensors without values."""

    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu.to("meta"), logvar.to("meta")


def test_meta_tensors_out_of_encode_are_an_external_model_error():
    with pytest.raises(ExternalModelError, match="meta device"):
        wrap_external(MetaOutput())


class ComplexMu(ProtocolModel):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu.to(torch.complex64), logvar


class ComplexDecode(ProtocolModel):
    def decode(self, z):
        return super().decode(z).to(torch.complex64)


@pytest.mark.parametrize(
    "module, words",
    [
        (ComplexMu(), "encode returned complex numbers (torch.complex64) in mu"),
        (ComplexDecode(), "decode returned complex numbers (torch.complex64) as pixels"),
    ],
)
def test_complex_codes_or_pixels_are_refused(module, words):
    with pytest.raises(ExternalModelError) as info:
        wrap_external(module)
    assert words in str(info.value)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_images_are_refused(dtype):
    with pytest.raises(ValueError, match=rf"complex numbers \({np.dtype(dtype).name}\)"):
        as_dataset(IMAGES.astype(dtype))
    with pytest.raises(ValueError, match="complex"):
        as_dataset(torch.from_numpy(IMAGES).to(torch.complex64))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn, torch.float32])
def test_images_in_torch_floats_numpy_lacks_are_read(dtype):
    """Images as bfloat16 tensors (what a model trained in bf16 hands out) raised torch's "Got
    unsupported ScalarType BFloat16" instead of being read."""
    images = torch.from_numpy(IMAGES).to(dtype)
    data = as_dataset(images, torch.arange(20).remainder(10))
    assert data.images.shape == (20, 28, 28) and data.images.dtype == np.uint8
    assert (
        np.abs(data.images.astype(int) - np.round(images.float().numpy() * 255).reshape(20, 28, 28)).max()
        <= 1
    )
    assert list(data.labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    with pytest.raises(ValueError, match="labels must be whole numbers"):  # (class indices)
        as_dataset(images, torch.arange(20).remainder(10).to(dtype))


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")
def test_images_of_a_tensor_type_numpy_cannot_hold_are_named():
    pixels = torch.quantize_per_tensor(torch.from_numpy(IMAGES), 0.01, 0, torch.quint8)
    with pytest.raises(ValueError, match=r"tensors of torch\.quint8 are not supported"):
        as_dataset(pixels)

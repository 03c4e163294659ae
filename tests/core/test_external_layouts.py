"""A user's model that hands back sparse or nested tensors gets an ExternalModelError
saying so (the shape checks raised torch's own RuntimeError: "reshape is not implemented
for sparse tensors", "NestedTensorImpl doesn't support sizes")."""

from __future__ import annotations

import pytest
import torch
from external_models import ProtocolModel

from vae_explorer.core.external import ExternalModelError, wrap_external


class SparseMu(ProtocolModel):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu.to_sparse(), logvar


class SparseDecode(ProtocolModel):
    def decode(self, z):
        return super().decode(z).to_sparse()


class NestedDecode(ProtocolModel):
    def decode(self, z):
        return torch.nested.nested_tensor(
            list(super().decode(z).reshape(z.shape[0], -1)), layout=torch.jagged
        )


@pytest.mark.parametrize(
    ("model", "words"),
    [(SparseMu, "encode returned a sparse coo tensor in mu"),
     (SparseDecode, "decode returned a sparse coo tensor as pixels"),
     (NestedDecode, "decode returned a nested tensor as pixels")],
)  # fmt: skip
def test_sparse_and_nested_outputs_are_named(model, words):
    with pytest.raises(ExternalModelError, match=f"{words}: it must be a dense one"):
        wrap_external(model())

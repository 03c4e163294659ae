"""A small model that follows the explore() protocol (encode -> (mu, logvar), decode -> images),
for the tests of a user's own model; subclasses break it in one way each."""

from __future__ import annotations

import torch
from torch import nn


class ProtocolModel(nn.Module):
    """Linear encode to (mu, logvar) of ``d`` dims and a sigmoid decode; seeded weights."""

    def __init__(self, d: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.d = d
        self.enc, self.dec = nn.Linear(784, 2 * d), nn.Linear(d, 784)

    def encode(self, x):
        h = self.enc(x.reshape(len(x), 784))
        return h[:, : self.d], h[:, self.d :]

    def decode(self, z):
        return torch.sigmoid(self.dec(z))


class ScalarDecode(ProtocolModel):
    def decode(self, z):
        return torch.tensor(0.5)


class HugeLogvar(ProtocolModel):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu, logvar + 1e4


class DecodeWrongLater(ProtocolModel):
    def decode(self, z):
        out = super().decode(z)
        return out if len(z) <= 3 else out[:, :100]

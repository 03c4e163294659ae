"""Kingma et al. (2014)'s labelled models: M2 and M1+M2.

M2 has a classifier q(y|x), an encoder q(z|x,y) and a decoder p(x|y,z) with p(y) uniform
and p(z) = N(0, I). Its encoder and decoder are the app's VAE MLP (one tanh hidden layer)
with the one-hot y appended to the input, so with y fixed they are exactly a VAE.

M1+M2 runs M2 on the features of a VAE (M1) trained on all images: x1 ~ q(z1|x), with a
Gaussian p(x1|y,z) whose mean and variance the decoder outputs; images come back through
M1's decoder, so ``decode(z, y)`` returns images for both kinds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..activations import tanh
from ..image import IMAGE_PIXELS
from ..model import (
    LIKELIHOODS,
    MAX_HIDDEN_DIM,
    MAX_LATENT_DIM,
    VAE,
    ConfigError,
    InputError,
    VAEConfig,
    as_image_tensor,
    log_normal,
)

KINDS = ("m2", "m1m2")
CLASSES = 10
# The feature decoder's log-variance is kept in a range where the Gaussian density of an
# almost constant M1 dimension cannot run off to +infinity.
_FEATURE_LOGVAR_RANGE = (-7.0, 5.0)


@dataclass(frozen=True)
class LabelledConfig:
    """Sizes of a labelled model. ``kind``: "m2" (on pixels) or "m1m2" (on M1's latents)."""

    kind: str = "m2"
    latent_dim: int = 2
    hidden_dim: int = 500
    likelihood: str = "bernoulli"  # of the pixels (M2) or of M1's decoder (M1+M2)
    classifier_hidden_dim: int = 500
    m1_latent_dim: int = 50  # M1+M2 only
    m1_hidden_dim: int | tuple[int, ...] = 600  # M1+M2 only: one size or a list (VAEConfig)
    classes: int = CLASSES
    m1_activation: str = "tanh"  # M1+M2 only
    # Dropout on q(y|x)'s hidden units in training steps, so the classifier does not learn its
    # labels by heart in the first epochs (M2 then goes on confirming its guesses). On MNIST's
    # M1+M2 0.5 helps from 600 labels up and hurts with 100 (README, "Labelled models").
    classifier_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"labelled model kind must be one of {KINDS}, got {self.kind!r}")
        limits = {
            "latent_dim": MAX_LATENT_DIM, "hidden_dim": MAX_HIDDEN_DIM,
            "classifier_hidden_dim": MAX_HIDDEN_DIM, "m1_latent_dim": MAX_LATENT_DIM, "classes": 1000,
        }  # fmt: skip
        for name, limit in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
            if value > limit:
                raise ConfigError(f"{name} must be at most {limit}, got {value!r}")
        if self.classes < 2:
            raise ConfigError(f"a labelled model needs at least 2 classes, got {self.classes}")
        if not (isinstance(self.classifier_dropout, (int, float)) and 0 <= self.classifier_dropout < 1):
            raise ConfigError(f"classifier_dropout must be in [0, 1), got {self.classifier_dropout!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        m1 = VAEConfig(self.m1_latent_dim, self.m1_hidden_dim, self.likelihood, "mlp", self.m1_activation)
        object.__setattr__(self, "m1_hidden_dim", m1.hidden_dim)  # checked and normalised there

    @property
    def data_dim(self) -> int:
        """Size of what M2 models: pixels, or M1's latent."""
        return IMAGE_PIXELS if self.kind == "m2" else self.m1_latent_dim

    @property
    def m1_config(self) -> VAEConfig:
        return VAEConfig(self.m1_latent_dim, self.m1_hidden_dim, self.likelihood, "mlp", self.m1_activation)

    def to_dict(self) -> dict[str, Any]:
        data = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in asdict(self).items()}
        if isinstance(self.m1_hidden_dim, tuple):
            data["m1_hidden_dim"] = list(self.m1_hidden_dim)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelledConfig:
        names = cls.__dataclass_fields__
        known = {k: v for k, v in data.items() if k in names}
        if isinstance(known.get("m1_hidden_dim"), list):
            known["m1_hidden_dim"] = tuple(known["m1_hidden_dim"])
        return cls(**known)


class M2Networks(nn.Module):
    """q(y|x), q(z|x,y) and p(x|y,z) on data of ``data_dim`` values (pixels or features)."""

    def __init__(self, config: LabelledConfig) -> None:
        super().__init__()
        c, d = config, config.data_dim
        self.config = c
        self.cls_hidden = nn.Linear(d, c.classifier_hidden_dim)
        self.cls_hidden2 = nn.Linear(c.classifier_hidden_dim, c.classifier_hidden_dim)
        self.cls_out = nn.Linear(c.classifier_hidden_dim, c.classes)
        self.enc_hidden = nn.Linear(d + c.classes, c.hidden_dim)
        self.enc_mu = nn.Linear(c.hidden_dim, c.latent_dim)
        self.enc_logvar = nn.Linear(c.hidden_dim, c.latent_dim)
        self.dec_hidden = nn.Linear(c.latent_dim + c.classes, c.hidden_dim)
        self.dec_out = nn.Linear(c.hidden_dim, d)
        if c.kind == "m1m2":
            self.dec_logvar = nn.Linear(c.hidden_dim, d)

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x)'s logits; hidden units dropped only in a training step (train mode with
        gradients), so the public API's inference calls never drop."""
        p = self.config.classifier_dropout if self.training and torch.is_grad_enabled() else 0.0
        h = F.softplus(self.cls_hidden(x))
        h = F.softplus(self.cls_hidden2(F.dropout(h, p) if p else h))
        return self.cls_out(F.dropout(h, p) if p else h)

    def encode(self, x: torch.Tensor, y1h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = tanh(self.enc_hidden(torch.cat([x, y1h], -1)))
        return self.enc_mu(h), self.enc_logvar(h)

    def encode_every_class(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x,y) for every class y: [classes * B, latent] each, class-major (row
        c * B + i is image i with class c), as :meth:`encode` of ``x.repeat(classes, 1)``
        with one-hot labels. The image's share of the hidden layer is computed once, not
        once per class (the layer is x W_x + W_y[y] + b): a tenth of the largest product,
        forward and backward."""
        d, classes = x.shape[-1], self.config.classes
        weight = self.enc_hidden.weight
        from_image = F.linear(x, weight[:, :d])  # [B, hidden]
        per_class = weight[:, d:].t() + self.enc_hidden.bias  # [classes, hidden]
        h = tanh((per_class[:, None, :] + from_image[None]).reshape(classes * x.shape[0], weight.shape[0]))
        return self.enc_mu(h), self.enc_logvar(h)

    def decode_params(self, z: torch.Tensor, y1h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits of the pixels, None) for M2; (mean, log-variance) of the features for M1+M2."""
        h = tanh(self.dec_hidden(torch.cat([z, y1h], -1)))
        if self.config.kind == "m2":
            return self.dec_out(h), None
        logvar = self.dec_logvar(h).clamp(*_FEATURE_LOGVAR_RANGE)
        return self.dec_out(h), logvar

    def log_likelihood(
        self, x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor | None]
    ) -> torch.Tensor:
        """log p(x|y,z) per row: the VAE's pixel likelihood, or the features' Gaussian."""
        first, logvar = params
        if logvar is None:
            return _pixel_log_likelihood(self.config.likelihood, x, first)
        return log_normal(x, first, logvar)


def _pixel_log_likelihood(likelihood: str, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The VAE's own log p(x|z) (core.model.VAE.log_likelihood) for ``likelihood``."""
    holder = _LikelihoodHolder(VAEConfig(likelihood=likelihood))
    return VAE.log_likelihood(cast(VAE, holder), x, logits)


class _LikelihoodHolder:
    def __init__(self, config: VAEConfig) -> None:
        self.config = config


def one_hot(y: torch.Tensor, classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return F.one_hot(y.long(), classes).to(dtype)


class LabelledModel(nn.Module):
    """The public labelled model: ``classify``, ``encode``, ``decode`` on images.

    Images are accepted as elsewhere in the app: uint8 or float in [0, 1], [B, 784] or
    [B, 28, 28], numpy or torch. ``m1`` exists for M1+M2 only.
    """

    def __init__(self, config: LabelledConfig | None = None) -> None:
        super().__init__()
        self.config = config or LabelledConfig()
        self.m1: VAE | None = VAE(self.config.m1_config) if self.config.kind == "m1m2" else None
        self.m2 = M2Networks(self.config)

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def classes(self) -> int:
        return self.config.classes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- the data M2 sees ---------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What M2 models for pixel rows x [B, 784]: x itself, or M1's posterior means."""
        if self.m1 is None:
            return x
        return self.m1.encode(x)[0]

    def _images(self, images: Any) -> torch.Tensor:
        return as_image_tensor(images, self.device)

    def _labels(self, y: Any, count: int) -> torch.Tensor:
        t = torch.as_tensor(y, device=self.device)
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise InputError(f"labels must be whole numbers 0..{self.classes - 1}, got {t.dtype}")
        t = t.long()
        if t.ndim == 0:
            t = t.expand(count)
        if t.ndim != 1 or t.shape[0] != count:
            raise InputError(f"labels must be one int or {count} of them, got shape {tuple(t.shape)}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.classes):
            raise InputError(
                f"labels must be in 0..{self.classes - 1}, got values in [{int(t.min())}, {int(t.max())}]"
            )
        return t

    # --- public API -----------------------------------------------------------------------
    @torch.inference_mode()
    def class_probabilities(self, images: Any) -> torch.Tensor:
        """q(y|x) for each image, [B, classes]."""
        return torch.softmax(self.m2.class_logits(self.features(self._images(images))), -1)

    @torch.inference_mode()
    def classify(self, images: Any) -> torch.Tensor:
        """The most probable class of each image, int64 [B]."""
        return self.m2.class_logits(self.features(self._images(images))).argmax(-1)

    @torch.inference_mode()
    def encode(self, images: Any, y: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x,y) as (mu, logvar), each [B, latent_dim]; y None = the classifier's choice."""
        x = self.features(self._images(images))
        labels = self.m2.class_logits(x).argmax(-1) if y is None else self._labels(y, x.shape[0])
        return self.m2.encode(x, one_hot(labels, self.classes, x.dtype))

    @torch.inference_mode()
    def encode_classified(self, images: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`encode` under the classifier's choice and that choice (int64 [B]), from one
        pass (a training snapshot needs both: M1's features of 10,000 images took as long
        again for :meth:`classify`)."""
        x = self.features(self._images(images))
        labels = self.m2.class_logits(x).argmax(-1)
        mu, logvar = self.m2.encode(x, one_hot(labels, self.classes, x.dtype))
        return mu, logvar, labels

    @torch.inference_mode()
    def decode(self, z: Any, y: Any) -> torch.Tensor:
        """Mean images [B, 784] in [0, 1] of style z [B, latent_dim] drawn as digit(s) y."""
        zt = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        if zt.ndim == 1:
            zt = zt.unsqueeze(0)
        if zt.ndim != 2 or zt.shape[1] != self.latent_dim:
            raise InputError(
                f"latent codes must have {self.latent_dim} values each (this model's latent "
                f"size), got shape {tuple(zt.shape)}"
            )
        if not bool(torch.isfinite(zt).all()):
            raise InputError("latent codes must be finite numbers")
        labels = self._labels(y, zt.shape[0])
        first, _ = self.m2.decode_params(zt, one_hot(labels, self.classes))
        if self.m1 is None:
            return torch.sigmoid(first)
        return self.m1.decode(first)

    @torch.inference_mode()
    def sample(self, y: Any, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images [n, 784] of z ~ N(0, I) drawn as digit(s) y."""
        z = torch.randn((n, self.latent_dim), generator=generator, device=self.device)
        return self.decode(z, y)

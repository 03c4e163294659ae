"""The variational auto-encoder: configuration, networks and the two likelihoods.

The default configuration is the classic AEVB / Keras-example model: 784 -> 256 (tanh) ->
(mu, log sigma^2) in R^2, decoder 2 -> 256 (tanh) -> 784 (sigmoid). The MLP also takes a
list of hidden layers and an activation, for the other classic configurations:
pytorch/examples' 784-400-20 (relu) and the IWAE paper's 784-200-200-50 (tanh); the decoder
mirrors the encoder's layers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .activations import ACTIVATION_FUNCTIONS
from .image import IMAGE_PIXELS, IMAGE_SIDE

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHS = ("mlp", "conv")
ACTIVATIONS = ("tanh", "relu", "softplus")
MAX_HIDDEN_LAYERS = 8
MAX_LATENT_DIM = 1024
MAX_HIDDEN_DIM = 16384

# The "gaussian" likelihood is N(x; mean, 1/2 I): its negative log-density is exactly the
# summed squared error (the seed's loss) plus a constant, so training on squared error is
# maximum likelihood and the reported ELBO is a true bound on a proper density.
GAUSSIAN_VARIANCE = 0.5
_GAUSSIAN_LOG_NORMALISER = 0.5 * IMAGE_PIXELS * math.log(2 * math.pi * GAUSSIAN_VARIANCE)


class ConfigError(ValueError):
    """A model or training configuration value is out of range."""


class InputError(ValueError):
    """Images or latent codes given to a model are unusable: wrong shape, pixel values out
    of range, NaN or infinity. The message names what was given and what is expected."""


def _whole_number(name: str, value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
    if value > limit:
        raise ConfigError(f"{name} must be at most {limit}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class VAEConfig:
    """Sizes, likelihood and architecture of a VAE.

    ``hidden_dim``: one hidden layer's size, or the encoder's hidden sizes from the image
    inwards (a tuple; one size is stored as an int). ``activation`` applies to every hidden
    layer of the MLP (the conv architecture uses relu and one fully connected size).
    """

    latent_dim: int = 2
    hidden_dim: int | tuple[int, ...] = 256
    likelihood: str = "bernoulli"
    arch: str = "mlp"
    activation: str = "tanh"

    def __post_init__(self) -> None:
        _whole_number("latent_dim", self.latent_dim, MAX_LATENT_DIM)
        sizes = self.hidden_dim if isinstance(self.hidden_dim, (tuple, list)) else (self.hidden_dim,)
        if not 1 <= len(sizes) <= MAX_HIDDEN_LAYERS:
            raise ConfigError(f"hidden_dim must list 1 to {MAX_HIDDEN_LAYERS} layer sizes, got {list(sizes)}")
        sizes = tuple(_whole_number("hidden_dim", v, MAX_HIDDEN_DIM) for v in sizes)
        object.__setattr__(self, "latent_dim", int(self.latent_dim))
        object.__setattr__(self, "hidden_dim", sizes[0] if len(sizes) == 1 else sizes)
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.arch == "conv" and (len(sizes) > 1 or self.activation != "tanh"):
            raise ConfigError("the conv architecture takes one hidden size and its own (relu) activations")

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """The encoder's hidden layer sizes, from the image inwards."""
        return self.hidden_dim if isinstance(self.hidden_dim, tuple) else (self.hidden_dim,)

    @property
    def is_classic_mlp(self) -> bool:
        """One tanh hidden layer: the shape the hand-fused fast paths are written for."""
        return self.arch == "mlp" and len(self.hidden_sizes) == 1 and self.activation == "tanh"

    def describe(self) -> str:
        """e.g. "784-200-200-50 tanh" (an MLP) or "conv 256-2"."""
        if self.arch == "conv":
            return f"conv {self.hidden_sizes[0]}-{self.latent_dim}"
        layers = "-".join(str(n) for n in (IMAGE_PIXELS, *self.hidden_sizes, self.latent_dim))
        return f"{layers} {self.activation}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if isinstance(self.hidden_dim, tuple):
            data["hidden_dim"] = list(self.hidden_dim)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VAEConfig:
        keys = ("latent_dim", "hidden_dim", "likelihood", "arch", "activation")
        known = {k: data[k] for k in keys if k in data}
        if isinstance(known.get("hidden_dim"), list):
            known["hidden_dim"] = tuple(known["hidden_dim"])
        return cls(**known)


def parse_hidden(text: str) -> int | tuple[int, ...]:
    """Hidden sizes as a user types them: "256", "200,200" or "200-200"."""
    parts = [p for p in text.replace("-", ",").replace(" ", ",").split(",") if p]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes:
        raise ConfigError("hidden sizes must name at least one layer size")
    return sizes[0] if len(sizes) == 1 else sizes


class _ConvEncoder(nn.Module):
    def __init__(self, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, stride=2, padding=1)  # 28 -> 14
        self.conv2 = nn.Conv2d(32, 64, 4, stride=2, padding=1)  # 14 -> 7
        self.fc = nn.Linear(64 * 7 * 7, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x.view(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
        h = F.relu(self.conv1(h))
        h = F.relu(self.conv2(h))
        h = F.relu(self.fc(h.flatten(1)))
        return self.fc_mu(h), self.fc_logvar(h)


class _ConvDecoder(nn.Module):
    def __init__(self, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, 64 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)  # 7 -> 14
        self.deconv2 = nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1)  # 14 -> 28

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(z))
        h = F.relu(self.fc2(h)).view(-1, 64, 7, 7)
        h = F.relu(self.deconv1(h))
        return self.deconv2(h).flatten(1)


class VAE(nn.Module):
    """Gaussian-posterior VAE with a Bernoulli or fixed-variance Gaussian decoder.

    The MLP layers are named enc_hidden / enc_mu / enc_logvar / dec_hidden / dec_out so a
    checkpoint's tensors read plainly; deeper models add enc_hidden2, enc_hidden3, ... (from
    the image inwards) and dec_hidden2, dec_hidden3, ... (from the latent outwards).
    """

    enc_hidden: nn.Linear  # set with setattr (one per hidden layer), declared for the checkers
    dec_hidden: nn.Linear

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config or VAEConfig()
        c = self.config
        sizes = c.hidden_sizes
        if c.arch == "mlp":
            widths = (IMAGE_PIXELS, *sizes)
            for i in range(len(sizes)):
                setattr(self, _layer_name("enc_hidden", i), nn.Linear(widths[i], widths[i + 1]))
            self.enc_mu = nn.Linear(sizes[-1], c.latent_dim)
            self.enc_logvar = nn.Linear(sizes[-1], c.latent_dim)
            widths = (c.latent_dim, *reversed(sizes))
            for i in range(len(sizes)):
                setattr(self, _layer_name("dec_hidden", i), nn.Linear(widths[i], widths[i + 1]))
            self.dec_out = nn.Linear(sizes[0], IMAGE_PIXELS)
            self._act = ACTIVATION_FUNCTIONS[c.activation]
        else:
            self.encoder = _ConvEncoder(sizes[0], c.latent_dim)
            self.decoder = _ConvDecoder(sizes[0], c.latent_dim)

    def encoder_layers(self) -> list[nn.Linear]:
        """The MLP encoder's hidden layers, from the image inwards."""
        return [getattr(self, _layer_name("enc_hidden", i)) for i in range(len(self.config.hidden_sizes))]

    def decoder_layers(self) -> list[nn.Linear]:
        """The MLP decoder's hidden layers, from the latent outwards (dec_out not included)."""
        return [getattr(self, _layer_name("dec_hidden", i)) for i in range(len(self.config.hidden_sizes))]

    def decode_hidden(self, z: torch.Tensor) -> torch.Tensor:
        """The MLP decoder's last hidden activations [B, hidden] (what dec_out reads)."""
        h = z
        for layer in self.decoder_layers():
            h = self._act(layer(h))
        return h

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- networks -------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior q(z|x) = N(mu, diag(exp(logvar))) for images x [B, 784] in [0, 1]."""
        if x.ndim < 1 or x.shape[-1] != IMAGE_PIXELS:
            raise InputError(
                f"images must have {IMAGE_PIXELS} pixels each ({IMAGE_SIDE} x {IMAGE_SIDE}, flattened), "
                f"got shape {tuple(x.shape)}"
            )
        if self.config.arch == "mlp":
            h = x
            for layer in self.encoder_layers():
                h = self._act(layer(h))
            return self.enc_mu(h), self.enc_logvar(h)
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid decoder output [B, 784]; the mean image is its sigmoid."""
        if z.ndim < 1 or z.shape[-1] != self.config.latent_dim:
            raise InputError(
                f"latent codes must have {self.config.latent_dim} values each (this model's latent "
                f"size), got shape {tuple(z.shape)}"
            )
        if self.config.arch == "mlp":
            return self.dec_out(self.decode_hidden(z))
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean image [B, 784] in [0, 1] for latent codes z [B, latent_dim]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar)), mu, logvar

    # --- sampling -------------------------------------------------------------------------
    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample of q(z|x) differentiable in mu, logvar."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images [n, 784] of n draws z ~ p(z) = N(0, I)."""
        z = torch.randn((n, self.latent_dim), generator=generator, device=self.device)
        return self.decode(z)

    # --- densities ------------------------------------------------------------------------
    def log_likelihood(
        self, x: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """log p(x|z) summed over pixels (only where mask is True, if given); shape [...].

        Bernoulli on greyscale targets is the (cross-entropy) convention of the Keras and
        PyTorch examples, computed from logits so it never takes log(0).
        """
        if self.config.likelihood == "bernoulli":
            per_pixel = x * logits - F.softplus(logits)
            if mask is not None:
                per_pixel = per_pixel * mask
            return per_pixel.sum(-1)
        sq = (x - torch.sigmoid(logits)).square()
        if mask is None:
            return -sq.sum(-1) / (2 * GAUSSIAN_VARIANCE) - _GAUSSIAN_LOG_NORMALISER
        count = mask.sum(-1, dtype=sq.dtype)
        per_pixel_norm = _GAUSSIAN_LOG_NORMALISER / IMAGE_PIXELS
        return -(sq * mask).sum(-1) / (2 * GAUSSIAN_VARIANCE) - per_pixel_norm * count

    def sample_pixels(self, logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw x ~ p(x|z), clipped to [0, 1] for the Gaussian so it stays an image."""
        mean = torch.sigmoid(logits)
        if self.config.likelihood == "bernoulli":
            u = torch.rand(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            return (u < mean).to(mean.dtype)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return (mean + math.sqrt(GAUSSIAN_VARIANCE) * noise).clamp_(0.0, 1.0)


def _layer_name(base: str, i: int) -> str:
    return base if i == 0 else f"{base}{i + 1}"


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims; shape [B]."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dim."""
    return -0.5 * ((z - mu).square() * torch.exp(-logvar) + logvar + math.log(2 * math.pi)).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dim."""
    return -0.5 * (z.square() + math.log(2 * math.pi)).sum(-1)


def as_image_tensor(images: Any, device: torch.device | str | None = None) -> torch.Tensor:
    """Images as float32 [N, 784] in [0, 1]: accepts uint8 (0-255) or float arrays/tensors.

    The boundary where data enters the maths: wrong shapes, values outside [0, 1], NaN and
    infinities are refused here (InputError naming how many and where), not deep in torch.
    """
    try:
        t = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"images must be an array of numbers ({exc})") from None
    if t.dtype == torch.uint8:
        t = t.to(torch.float32) / 255.0
    else:
        if t.is_complex():
            raise InputError(f"images must hold real numbers, got {t.dtype}")
        t = t.to(torch.float32)
    if t.ndim >= 2 and t.shape[-2:] == (IMAGE_SIDE, IMAGE_SIDE):
        t = t.reshape(*t.shape[:-2], IMAGE_PIXELS)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != IMAGE_PIXELS:
        raise InputError(
            f"images must have shape [N, {IMAGE_PIXELS}] or [N, {IMAGE_SIDE}, {IMAGE_SIDE}], got "
            f"{tuple(t.shape) if isinstance(images, torch.Tensor) else tuple(np.shape(images))}"
        )
    if t.numel():
        _check_finite(t)
        low, high = float(t.min()), float(t.max())
        if low < 0.0 or high > 1.0:
            raise InputError(
                "float images must hold pixel values in [0, 1] (pass uint8 for 0-255), got "
                f"values in [{low:g}, {high:g}]"
            )
    return t.to(device) if device is not None else t


def _check_finite(t: torch.Tensor) -> None:
    """InputError naming how many pixels are NaN / infinite and where the first few are."""
    bad = ~torch.isfinite(t)
    if not bool(bad.any()):
        return
    nan = int(torch.isnan(t).sum())
    inf = int(bad.sum()) - nan
    where = []
    for image, pixel in bad.nonzero()[:3].tolist():
        row, col = divmod(pixel, IMAGE_SIDE)
        where.append(f"image {image} pixel {pixel} (row {row}, column {col})")
    counts = " and ".join(
        f"{n} {what}" for n, what in ((nan, "NaN"), (inf, "infinite (or too large for float32)")) if n
    )
    images = int(bad.any(1).sum())
    raise InputError(
        f"images contain {counts} pixel value(s) in {images} of {t.shape[0]} image(s), first at "
        f"{'; '.join(where)}; pixel values must be finite numbers in [0, 1]"
    )

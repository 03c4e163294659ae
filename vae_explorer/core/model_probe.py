"""Is a loaded model's arithmetic sound? A quick probe before long work, and a check after.

A checkpoint can hold weights that are all finite yet make the networks overflow: one
flipped exponent bit turns 0.0185 into 6.3e36, and the file still loads. Everything built
on such a model then comes out as inf or NaN, or fails deep in torch ("invalid multinomial
distribution"). :func:`check_model` encodes a few of the data's images and decodes their
means (and a few prior draws) and raises :class:`DamagedModelError` naming the network
whose outputs are not finite. :func:`nonfinite` names the results of a computation that
came out non-finite anyway, so that they are never shown as a success.

No Qt here: the command line, the window and scripts all use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from .checkpoint_file import CheckpointError
from .files import show_path
from .model import VAE, as_image_tensor, kl_divergence

PROBE_IMAGES = 256  # enough to reach nearly every pixel's weights; milliseconds for an MLP
PRIOR_DRAWS = 16  # codes drawn from N(0, I), decoded too (figures decode far from the data)
DAMAGED = "the file's weights are likely damaged"


class DamagedModelError(CheckpointError):
    """A checkpoint whose networks compute non-finite values on real images."""


def faulty_network(model: Any, images: Any, limit: int = PROBE_IMAGES) -> str | None:
    """The name of the first network of ``model`` (a VAE or a labelled model) whose outputs
    on up to ``limit`` of ``images`` are not finite ("encoder", "decoder", "M1 encoder",
    "M2 classifier q(y|x)", ...), or None when all are finite (or there are no images)."""
    x = as_image_tensor(images[:limit])
    if x.shape[0] == 0:
        return None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            x = x.to(next(model.parameters()).device)
            if isinstance(model, VAE):
                return _first(_vae_outputs(model, x))
            return _first(_labelled_outputs(model, x))
    finally:
        model.train(was_training)


def check_model(model: Any, images: Any, path: str | os.PathLike[str], limit: int = PROBE_IMAGES) -> None:
    """Raise DamagedModelError naming ``path`` and the network if :func:`faulty_network`
    finds one."""
    network = faulty_network(model, images, limit)
    if network is not None:
        raise DamagedModelError(
            f"{show_path(path)}: the {network} gives non-finite values (inf or NaN) on the data's "
            f"images, so {DAMAGED}"
        )


def nonfinite(results: Mapping[str, Any]) -> list[str]:
    """The names of the ``results`` (numbers or arrays; None is skipped) holding inf or NaN."""
    bad = []
    for name, value in results.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
            bad.append(name)
    return bad


def nonfinite_message(path: str | os.PathLike[str], names: list[str]) -> str:
    """The one-line error for results that came out non-finite."""
    what = ", ".join(names)
    return (
        f"{show_path(path)}: the results came out non-finite (inf or NaN: {what}); the model "
        f"overflows on these images, so {DAMAGED}"
    )


def _first(checks: Iterator[tuple[str, list[torch.Tensor]]]) -> str | None:
    for network, outputs in checks:
        if not all(bool(torch.isfinite(t).all()) for t in outputs):
            return network
    return None


def _posterior(mu: torch.Tensor, logvar: torch.Tensor) -> list[torch.Tensor]:
    """What the maths takes from q(z|x): the mean, the log-variance, the variance (KL,
    sampling) and its inverse (log q(z|x) in importance weights), and the KL itself."""
    return [mu, logvar, logvar.exp(), (-logvar).exp(), kl_divergence(mu, logvar)]


def _vae_outputs(model: VAE, x: torch.Tensor, prefix: str = "") -> Iterator[tuple[str, list[torch.Tensor]]]:
    mu, logvar = model.encode(x)
    yield f"{prefix}encoder", _posterior(mu, logvar)
    generator = torch.Generator(device=x.device).manual_seed(0)
    prior = torch.randn((PRIOR_DRAWS, model.latent_dim), generator=generator, device=x.device)
    logits = model.decode_logits(mu)
    yield f"{prefix}decoder", [logits, model.log_likelihood(x, logits), model.decode_logits(prior)]


def _labelled_outputs(model: Any, x: torch.Tensor) -> Iterator[tuple[str, list[torch.Tensor]]]:
    from .labelled.model import one_hot

    m1 = getattr(model, "m1", None)
    if m1 is not None:
        yield from _vae_outputs(m1, x, "M1 ")
    m2 = "M2 " if m1 is not None else ""
    features = model.features(x)
    logits = model.m2.class_logits(features)
    yield f"{m2}classifier q(y|x)", [logits, torch.softmax(logits, -1)]
    y1h = one_hot(logits.argmax(-1), model.classes, features.dtype)
    mu, logvar = model.m2.encode(features, y1h)
    yield f"{m2}encoder", _posterior(mu, logvar)
    first, second = model.m2.decode_params(mu, y1h)
    yield f"{m2}decoder", [first, model.m2.log_likelihood(features, (first, second))]

"""Input checks for the exact-posterior functions: clear messages instead of crashes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..image import IMAGE_PIXELS, IMAGE_SIDE
from ..model import InputError, as_image_tensor


class PosteriorError(InputError):
    """The exact posterior cannot be computed for this model or input (e.g. latent_dim != 2)."""


def check_model(model: Any) -> None:
    """Raise PosteriorError unless the model has a 2-d latent (the grid is 2-d)."""
    dim = getattr(getattr(model, "config", None), "latent_dim", None)
    if dim is None:
        raise PosteriorError("the exact posterior needs a VAE with encode / decode_logits / log_likelihood")
    if dim != 2:
        raise PosteriorError(
            f"the exact posterior needs a 2-d latent; this model's latent has {dim} dimensions "
            "(its ELBO and importance-weighted estimate still work)"
        )


def _as_tensor(images: Any, what: str) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        t = images.detach().cpu()
    else:
        try:
            t = torch.as_tensor(np.asarray(images))
        except (TypeError, ValueError) as exc:
            raise PosteriorError(
                f"{what} must be a numeric array, got {type(images).__name__}: {exc}"
            ) from None
    if t.dtype == torch.bool or t.is_complex():
        raise PosteriorError(f"{what} must hold uint8 (0-255) or float (0-1) pixels, got {t.dtype}")
    if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise PosteriorError(f"{what} has {bad} NaN or infinite pixel value(s)")
    return t


def one_image(image: Any) -> torch.Tensor:
    """One image as float32 [1, 784] in [0, 1] from [784] / [28, 28] (or a batch of one)."""
    t = _as_tensor(image, "the image")
    if tuple(t.shape) not in (
        (IMAGE_PIXELS,),
        (IMAGE_SIDE, IMAGE_SIDE),
        (1, IMAGE_PIXELS),
        (1, IMAGE_SIDE, IMAGE_SIDE),
    ):
        raise PosteriorError(
            f"the image must have shape [{IMAGE_PIXELS}] or [{IMAGE_SIDE}, {IMAGE_SIDE}], "
            f"got {tuple(t.shape)}"
        )
    try:
        return as_image_tensor(t)
    except ValueError as exc:
        raise PosteriorError(f"the image: {exc}") from None


def many_images(images: Any) -> torch.Tensor:
    """Images as float32 [N, 784] in [0, 1] from [N, 784] / [N, 28, 28], N >= 1."""
    t = _as_tensor(images, "the images")
    if t.ndim not in (2, 3) or tuple(t.shape[1:]) not in ((IMAGE_PIXELS,), (IMAGE_SIDE, IMAGE_SIDE)):
        raise PosteriorError(
            f"the images must have shape [N, {IMAGE_PIXELS}] or [N, {IMAGE_SIDE}, {IMAGE_SIDE}], "
            f"got {tuple(t.shape)}"
        )
    if t.shape[0] == 0:
        raise PosteriorError("there are no images (an empty array)")
    try:
        return as_image_tensor(t)
    except ValueError as exc:
        raise PosteriorError(f"the images: {exc}") from None

"""Your own model: any torch module with

- ``encode(x) -> (mu, logvar)``: x a batch of 28 x 28 images in [0, 1], given as [B, 784]
  or, if the module wants it, [B, 1, 28, 28]; mu and logvar [B, d] (a diagonal Gaussian);
- ``decode(z) -> images``: the mean image in [0, 1] for z [B, d], as [B, 784],
  [B, 28, 28] or [B, 1, 28, 28].

:func:`wrap_external` checks this on a tiny batch (shapes, ranges, the latent size) and
raises :class:`ExternalModelError` naming what is missing or wrong; it returns an
:class:`ExternalModel` that the core's views (latent.py, grid.py, projection, traversal,
interpolation) take like a VAE. What needs the app's own training or likelihood
(evaluation, imputation, the exact posterior) is not offered for it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .image import IMAGE_PIXELS, IMAGE_SIDE
from .model import InputError

PROTOCOL = (
    "encode(x) -> (mu, logvar) for images x [B, 784] (or [B, 1, 28, 28]) in [0, 1], and "
    "decode(z) -> mean images in [0, 1]"
)
_RANGE_SLACK = 1e-4  # float rounding just outside [0, 1] is accepted (and clamped)


class ExternalModelError(InputError):
    """A module does not follow the encode/decode protocol; the message says how."""


class ExternalModel(nn.Module):
    """A checked module, seen through the app's model interface (``latent_dim``,
    ``device``, ``encode`` on [B, 784], ``decode`` to [B, 784])."""

    def __init__(self, module: nn.Module, latent_dim: int, image_layout: str) -> None:
        super().__init__()
        self.module = module
        self._latent_dim = latent_dim
        self.image_layout = image_layout  # "flat" ([B, 784]) or "chw" ([B, 1, 28, 28])
        self.config = None  # no app config: the views that need one say so
        # The module's own mode, so core functions that switch to eval and back restore it.
        self.training = module.training

    @property
    def latent_dim(self) -> int:
        return self._latent_dim

    @property
    def device(self) -> torch.device:
        return _device_and_dtype(self.module)[0]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The module's encode, checked on every call (shape, finite values, a variance
        that exp does not overflow): a model that passed the probe can still fail on the
        real images, and the views must get an ExternalModelError, not NaN or a bad shape."""
        if x.ndim < 1 or x.shape[-1] != IMAGE_PIXELS:
            raise InputError(f"images must have {IMAGE_PIXELS} pixels each, got shape {tuple(x.shape)}")
        device, dtype = _device_and_dtype(self.module)
        x = x.reshape(-1, IMAGE_PIXELS).to(device=device, dtype=dtype)
        n = x.shape[0]
        if self.image_layout == "chw":
            x = x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
        result = _call(self.module.encode, x, "encode", f"{n} images")
        return _check_encoding(result, n, self._latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The module's decode as [B, 784] in [0, 1], checked on every call (see encode)."""
        if z.ndim < 1 or z.shape[-1] != self._latent_dim:
            raise InputError(
                f"latent codes must have {self._latent_dim} values each (this model's latent size), "
                f"got shape {tuple(z.shape)}"
            )
        device, dtype = _device_and_dtype(self.module)
        codes = z.reshape(-1, self._latent_dim).to(device=device, dtype=dtype)
        n = codes.shape[0]
        out = _call(self.module.decode, codes, "decode", f"{n} latent codes")
        return _check_images(out, n).reshape(-1, IMAGE_PIXELS).float().clamp(0.0, 1.0)


def _call(method: Any, arg: torch.Tensor, name: str, what: str) -> Any:
    try:
        return method(arg)
    except (MemoryError, torch.OutOfMemoryError):
        raise
    except (Exception, SystemExit) as exc:  # the module's own code (an exit() there too)
        raise ExternalModelError(
            f"your model's {name} failed on {what}: {type(exc).__name__}: {exc}"
        ) from exc


def _device_and_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in module.parameters():
        return p.device, p.dtype if p.is_floating_point() else torch.float32
    return torch.device("cpu"), torch.float32


def wrap_external(module: Any, batch: int = 3) -> ExternalModel:
    """Check ``module`` against the protocol on ``batch`` probe images and wrap it.

    ExternalModelError names what is missing (a method) or wrong (a shape, a range, a
    non-finite value, an exception raised inside the module).
    """
    if isinstance(module, ExternalModel):
        return module
    if not isinstance(module, nn.Module):
        raise ExternalModelError(f"the model must be a torch.nn.Module, got {type(module).__name__}")
    missing = [name for name in ("encode", "decode") if not callable(getattr(module, name, None))]
    if missing:
        raise ExternalModelError(f"the model has no {' or '.join(missing)} method: it needs {PROTOCOL}")
    unloaded = [name for name, t in (*module.named_parameters(), *module.named_buffers()) if t.is_meta]
    if unloaded:
        more = f" and {len(unloaded) - 1} more" if len(unloaded) > 1 else ""
        raise ExternalModelError(
            f"the model's weights are on the 'meta' device (not loaded): {unloaded[0]}{more}; "
            "load its weights (e.g. load_state_dict(..., assign=True) or to_empty and load) first"
        )
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            layout, mu, logvar = _probe_encode(module, batch)
            latent_dim = mu.shape[1]
            _probe_decode(module, mu, latent_dim, batch)
    finally:
        module.train(was_training)
    return ExternalModel(module, latent_dim, layout)


def _probe_images(batch: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand((batch, IMAGE_PIXELS), generator=generator).to(device=device, dtype=dtype)


def _probe_encode(module: nn.Module, batch: int) -> tuple[str, torch.Tensor, torch.Tensor]:
    device, dtype = _device_and_dtype(module)
    x = _probe_images(batch, device, dtype)
    errors = []
    for layout, shaped in (("flat", x), ("chw", x.reshape(batch, 1, IMAGE_SIDE, IMAGE_SIDE))):
        try:
            result = module.encode(shaped)  # type: ignore[operator]
        except (Exception, SystemExit) as exc:  # its own code: any error means "not this layout"
            errors.append(f"{list(shaped.shape)}: {type(exc).__name__}: {exc}")
            continue
        return (layout, *_check_encoding(result, batch))
    raise ExternalModelError(
        "encode failed on a batch of 28 x 28 images, both as [B, 784] and as [B, 1, 28, 28] ("
        + "; ".join(errors)
        + f"); it needs {PROTOCOL}"
    )


def _check_encoding(
    result: Any, batch: int, latent_dim: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) as float32 [batch, d], d >= 1 (and ``latent_dim`` once known), finite,
    with exp(logvar) finite; ExternalModelError saying what is wrong otherwise."""
    if not isinstance(result, (tuple, list)) or len(result) < 2:
        raise ExternalModelError(
            f"encode must return (mu, logvar), got {type(result).__name__}; it needs {PROTOCOL}"
        )
    mu, logvar = result[0], result[1]
    for name, t in (("mu", mu), ("logvar", logvar)):
        if not isinstance(t, torch.Tensor):
            raise ExternalModelError(f"encode's {name} must be a tensor, got {type(t).__name__}")
        _require_real(t, f"encode returned {{kind}} in {name}")
        if t.ndim != 2 or t.shape[0] != batch:
            raise ExternalModelError(
                f"encode's {name} must have shape [B, latent size] = [{batch}, d] for {batch} images, "
                f"got {list(t.shape)}"
            )
    if mu.shape != logvar.shape:
        raise ExternalModelError(
            f"encode's mu and logvar must have the same shape, got {list(mu.shape)} and {list(logvar.shape)}"
        )
    d = mu.shape[1]
    if d < 1:
        raise ExternalModelError(
            f"encode returned latent codes of size {d}: the latent size must be at least 1"
        )
    if latent_dim is not None and d != latent_dim:
        raise ExternalModelError(
            f"your model's encode returned latent codes of size {d}, earlier {latent_dim}"
        )
    mu, logvar = mu.detach().float(), logvar.detach().float()
    _require_finite(mu, "encode returned {what} values in mu", "images")
    _require_finite(logvar, "encode returned {what} values in logvar", "images")
    # float32 exp overflows above logvar ~ 88.7: the views would get an infinite variance.
    if batch and not bool(torch.isfinite(torch.exp(logvar)).all()):
        _require_finite(
            torch.exp(logvar),
            f"encode returned a log-variance too large for exp (up to {float(logvar.max()):.3g}: "
            "an infinite variance)",
            "images",
        )
    return mu, logvar


def _require_finite(t: torch.Tensor, message: str, items: str) -> None:
    """ExternalModelError ``message`` (``{what}``: NaN or infinite) with the count of bad rows."""
    batch = t.shape[0]
    if batch == 0:
        return
    bad = batch - int(torch.isfinite(t.reshape(batch, -1)).all(dim=1).sum())
    if bad:
        nan, inf = bool(torch.isnan(t).any()), bool(torch.isinf(t).any())
        what = "NaN and infinite" if nan and inf else "NaN" if nan else "infinite"
        raise ExternalModelError(f"your model's {message.format(what=what)} for {bad} of {batch} {items}")


def _require_real(t: torch.Tensor, message: str) -> None:
    """ExternalModelError ``message`` (``{kind}``: what is wrong) unless ``t`` holds real
    values: not complex ones (a cast would drop their imaginary parts), nor a 'meta'
    tensor (it holds none)."""
    if t.is_complex():
        raise ExternalModelError(
            f"your model's {message.format(kind=f'complex numbers ({t.dtype})')}: they must be real"
        )
    if t.is_meta:
        raise ExternalModelError(
            f"your model's {message.format(kind='no values (a tensor on the meta device)')}: "
            "are its weights loaded?"
        )
    if t.layout != torch.strided or t.is_nested:
        raise ExternalModelError(
            f"your model's {message.format(kind=f'a {_layout_name(t)} tensor')}: it must be a dense "
            "one (call .to_dense())"
        )


def _layout_name(t: torch.Tensor) -> str:
    if t.is_nested:
        return "nested"
    return str(t.layout).removeprefix("torch.").replace("_", " ")


def _check_images(out: Any, batch: int) -> torch.Tensor:
    """``out`` if it is ``batch`` finite images of 784 pixels in one of the layouts."""
    if not isinstance(out, torch.Tensor):
        raise ExternalModelError(f"decode must return a tensor of images, got {type(out).__name__}")
    _require_real(out, "decode returned {kind} as pixels")
    if out.ndim < 1 or out.shape[0] != batch or out.numel() != batch * IMAGE_PIXELS:
        raise ExternalModelError(
            f"decode must return {batch} images of {IMAGE_SIDE} x {IMAGE_SIDE} pixels "
            f"([B, 784], [B, 28, 28] or [B, 1, 28, 28]), got shape {list(out.shape)}"
        )
    out = out.detach()
    _require_finite(out, "decode returned {what} pixels", "latent codes")
    return out


def _probe_decode(module: nn.Module, mu: torch.Tensor, latent_dim: int, batch: int) -> None:
    device, dtype = _device_and_dtype(module)
    try:
        out = module.decode(mu.to(device=device, dtype=dtype))  # type: ignore[operator]
    except (Exception, SystemExit) as exc:  # (an exit() in the module's code too)
        raise ExternalModelError(
            f"decode failed on codes of shape [{batch}, {latent_dim}] (encode's mu): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    out = _check_images(out, batch)
    lo, hi = float(out.min()), float(out.max())
    if lo < -_RANGE_SLACK or hi > 1 + _RANGE_SLACK:
        raise ExternalModelError(
            f"decode must return mean images in [0, 1], got values from {lo:.3g} to {hi:.3g} "
            "(logits? apply a sigmoid in decode)"
        )

"""An M1 to reuse: the VAE of a VAE checkpoint, or the M1 inside an M1+M2 checkpoint."""

from __future__ import annotations

import os

from ..model import VAE, ConfigError


def m1_from_checkpoint(path: str | os.PathLike[str]) -> VAE:
    """The MLP VAE that ``path`` holds as a model or as an M1+M2's M1; ConfigError if none."""
    from ..checkpoints import CheckpointError, load_checkpoint  # checkpoints imports this package
    from ..files import show_path

    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        raise ConfigError(str(exc)) from exc
    model = ckpt.model if ckpt.kind == "vae" else getattr(ckpt.model, "m1", None)
    if not isinstance(model, VAE) or model.config.arch != "mlp":
        raise ConfigError(f"{show_path(path)} holds no MLP VAE to use as M1 (it is a {ckpt.kind} checkpoint)")
    return model

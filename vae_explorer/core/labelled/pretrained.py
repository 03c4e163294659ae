"""M1 for M1+M2: a VAE to reuse (a VAE checkpoint's, or the M1 inside an M1+M2 checkpoint),
cut down to its active latent units (as Kingma et al.'s code did: M2 then models only the
units that carry information, not the noise of the collapsed ones)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from ..active_units import ACTIVITY_THRESHOLD, activity
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


def active_dims(mu: torch.Tensor) -> np.ndarray:
    """Indices of the active units among latent means ``mu`` [N, d] (the criterion of
    :mod:`..active_units`: the mean's variance over images above ACTIVITY_THRESHOLD); the
    most active one if none is."""
    var = activity(mu.detach().cpu().numpy())
    keep = np.flatnonzero(var > ACTIVITY_THRESHOLD)
    return keep if keep.size else np.array([int(np.argmax(var))])


def keep_latent_dims(vae: VAE, dims: Sequence[int] | np.ndarray) -> VAE:
    """A copy of the MLP ``vae`` whose latent holds only ``dims``: the encoder's rows and
    the decoder's first-layer columns of the others are removed, so it decodes as the
    original does with those dimensions at 0 (the prior's mean, where inactive units sit)."""
    index = torch.as_tensor(np.asarray(dims, np.int64), device=vae.device)
    small = VAE(replace(vae.config, latent_dim=int(index.numel()))).to(vae.device)
    first = vae.decoder_layers()[0].weight
    (first_name,) = (name for name, p in vae.named_parameters() if p is first)
    state = {}
    for name, value in vae.state_dict().items():
        if name.startswith(("enc_mu.", "enc_logvar.")):
            value = value[index]
        elif name == first_name:
            value = value[:, index]
        state[name] = value.clone()
    small.load_state_dict(state)
    return small.train(vae.training)

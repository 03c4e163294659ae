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


def m1_from_checkpoint(path: str | os.PathLike[str]) -> tuple[VAE, int]:
    """The MLP VAE that ``path`` holds as a model or as an M1+M2's M1, and the epochs it was
    trained (its metadata's; 0 if not recorded); ConfigError if it holds none."""
    from ..checkpoints import CheckpointError, load_checkpoint  # checkpoints imports this package
    from ..files import show_path

    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        raise ConfigError(str(exc)) from exc
    model = ckpt.model if ckpt.kind == "vae" else getattr(ckpt.model, "m1", None)
    if not isinstance(model, VAE) or model.config.arch != "mlp":
        raise ConfigError(f"{show_path(path)} holds no MLP VAE to use as M1 (it is a {ckpt.kind} checkpoint)")
    # A VAE saved by the app records epochs_completed; one saved as an M1 (m2_bench) m1_epochs.
    md = ckpt.metadata
    epochs = md.get("epochs_completed", md.get("m1_epochs")) if ckpt.kind == "vae" else md.get("m1_epochs")
    return model, epochs if type(epochs) is int and epochs >= 0 else 0


def active_dims(mu: torch.Tensor) -> np.ndarray:
    """Indices of the active units among latent means ``mu`` [N, d] (the criterion of
    :mod:`..active_units`: the mean's variance over images above ACTIVITY_THRESHOLD); the
    most active one if none is."""
    var = activity(mu.detach().cpu().numpy())
    keep = np.flatnonzero(var > ACTIVITY_THRESHOLD)
    return keep if keep.size else np.array([int(np.argmax(var))])


@torch.no_grad()
def keep_latent_dims(vae: VAE, dims: Sequence[int] | np.ndarray, fill: torch.Tensor | None = None) -> VAE:
    """A copy of the MLP ``vae`` whose latent holds only ``dims`` (distinct, ascending or
    not). The other units are held at ``fill`` [latent_dim] (default 0, the prior's mean):
    their share of the decoder's first layer is folded into its bias, so the copy decodes
    z[dims] as the original decodes z with the others at ``fill``."""
    d = vae.config.latent_dim
    if vae.config.arch != "mlp":
        raise ConfigError(f"only an MLP VAE's latent can be cut down, not a {vae.config.arch} one")
    keep = np.asarray(dims, np.int64).reshape(-1)
    if keep.size == 0 or np.unique(keep).size != keep.size or keep.min() < 0 or keep.max() >= d:
        raise ConfigError(f"latent units to keep must be distinct indices in 0..{d - 1}, got {keep.tolist()}")
    index = torch.as_tensor(keep, device=vae.device)
    dropped = torch.as_tensor(np.setdiff1d(np.arange(d), keep), device=vae.device)
    small = VAE(replace(vae.config, latent_dim=int(keep.size))).to(vae.device)
    for big, little in zip(vae.encoder_layers(), small.encoder_layers(), strict=True):
        little.load_state_dict(big.state_dict())
    for big, little in ((vae.enc_mu, small.enc_mu), (vae.enc_logvar, small.enc_logvar)):
        little.weight.copy_(big.weight[index])
        little.bias.copy_(big.bias[index])
    first, first_small = vae.decoder_layers()[0], small.decoder_layers()[0]
    first_small.weight.copy_(first.weight[:, index])
    held = torch.zeros(d, device=vae.device) if fill is None else fill.to(vae.device, torch.float32)
    first_small.bias.copy_(first.bias + first.weight[:, dropped] @ held[dropped])
    for big, little in zip(vae.decoder_layers()[1:], small.decoder_layers()[1:], strict=True):
        little.load_state_dict(big.state_dict())
    small.dec_out.load_state_dict(vae.dec_out.state_dict())
    return small.train(vae.training)

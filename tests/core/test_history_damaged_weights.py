"""A checkpoint whose kept weights for one epoch are damaged (NaN, infinite): model_at
refuses that epoch with an error naming the epoch and the weight; the other epochs' models
are built as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint_file import CheckpointError
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import WEIGHTS_PREFIX, HistoryRecorder, TrainingHistory
from vae_explorer.core.model import VAE, VAEConfig

CONFIG = VAEConfig(latent_dim=2, hidden_dim=16)


def _arrays(epochs: int = 5) -> dict[str, np.ndarray]:
    """A recorded run of ``epochs`` epochs (kept weights after 1, 2, 3, 5)."""
    torch.manual_seed(0)
    model = VAE(CONFIG)
    size = sum(v.numel() * 4 for v in model.state_dict().values())
    recorder = HistoryRecorder(epochs, 6, 2, size)
    z = np.zeros((6, 2), np.float32)
    for epoch in range(1, epochs + 1):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)
        recorder.record(epoch, model.state_dict(), z + epoch, z)
    return {name: np.array(value) for name, value in recorder.arrays().items()}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_model_at_refuses_non_finite_kept_weights_and_serves_the_other_epochs(bad):
    arrays = _arrays()
    damaged = f"{WEIGHTS_PREFIX}0003/dec_out.weight"
    arrays[damaged][0, :3] = bad
    history = TrainingHistory.from_arrays(arrays, CONFIG.to_dict())
    assert history is not None and history.weight_epochs == [1, 2, 3, 5]

    with pytest.raises(CheckpointError) as info:
        history.model_at(3)
    message = str(info.value)
    assert "epoch 3" in message and "'dec_out.weight'" in message and "3 NaN or infinite" in message

    for epoch in (1, 2, 5):  # the rest of the timeline stays usable
        model = history.model_at(epoch)
        assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_damaged_file_opens_and_only_its_damaged_epoch_is_refused(tmp_path):
    arrays = _arrays()
    arrays[f"{WEIGHTS_PREFIX}0005/enc_mu.bias"][:] = np.nan
    path = save_checkpoint(VAE(CONFIG), tmp_path / "damaged.safetensors", {}, arrays=arrays)
    history = TrainingHistory.read(path)
    assert history is not None
    with pytest.raises(CheckpointError, match=r"'enc_mu.bias' kept after epoch 5 holds 2 NaN"):
        history.model_at(5)
    assert history.model_at(3) is not None

"""A history whose numbers are finite as stored but not as float32 (every reader computes in
float32) is refused by name, not replayed as infinities: float64 latents of 1e300, weights
of 1e300. The window's reader (history_scrub) and `animate` both go through
TrainingHistory.from_arrays, so both get the CheckpointError; animate exits 2 and writes
nothing. Weight epochs are read as plain numbers in range, and interpolating finite latents
stays finite."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoint_file import CheckpointError
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY, WEIGHTS_PREFIX, TrainingHistory
from vae_explorer.core.model import VAE, VAEConfig

F32_MAX = float(np.finfo(np.float32).max)


def _arrays(mu=None, logvar=None):
    zeros = np.zeros((3, 4, 2), np.float64)
    return {
        EPOCHS_KEY: np.array([1, 2, 7], np.int32),
        MU_KEY: zeros.copy() if mu is None else mu,
        LOGVAR_KEY: zeros.copy() if logvar is None else logvar,
    }


@pytest.mark.parametrize("key", [MU_KEY, LOGVAR_KEY])
@pytest.mark.parametrize("value", [1e300, -1e39])
def test_float64_latents_beyond_float32_are_refused_naming_array_and_epoch(key, value):
    arrays = _arrays()
    arrays[key][2, 1, 0] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the cast either
        with pytest.raises(CheckpointError, match="too large for float32") as caught:
            TrainingHistory.from_arrays(arrays, source="run.safetensors")
    text = str(caught.value)
    assert "run.safetensors" in text and key in text and "epoch 7" in text


def test_float64_latents_within_float32_are_kept_as_float32():
    mu = np.full((3, 4, 2), 1e30)
    history = TrainingHistory.from_arrays(_arrays(mu=mu))
    assert history is not None and history.test_mu.dtype == np.float32
    assert np.isfinite(history.latents(1.5).mu).all()


def test_interpolating_finite_latents_near_float32s_limit_stays_finite():
    mu = np.zeros((3, 4, 2), np.float32)
    mu[0], mu[1] = F32_MAX, -F32_MAX
    history = TrainingHistory.from_arrays(_arrays(mu=mu))
    assert history is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in (1.0, 1.25, 1.5, 1.999, 2.0):
            assert np.isfinite(history.latents(t).mu).all(), t


def test_animate_refuses_such_a_history_with_exit_2_and_no_file(tmp_path, capsys):
    arrays = _arrays(mu=np.full((3, 4, 2), 1e300))
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    ckpt = save_checkpoint(model, tmp_path / "run.safetensors", {"dataset": "mnist"}, arrays=arrays)
    out = tmp_path / "run.gif"
    code = main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(tmp_path / "data"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "too large for float32" in err and MU_KEY in err
    assert not out.exists()


@pytest.mark.parametrize("epoch_text", ["\u00b2", "9" * 5000, "0000", "2000000"])
def test_weight_epochs_that_are_no_usable_number_are_refused(epoch_text):
    arrays = _arrays()
    arrays[f"{WEIGHTS_PREFIX}{epoch_text}/enc.weight"] = np.zeros(2, np.float16)
    with pytest.raises(CheckpointError, match="history array"):
        TrainingHistory.from_arrays(arrays)


def test_weights_beyond_float32_are_named_as_too_large():
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    arrays = _arrays()
    for name, value in model.state_dict().items():
        arrays[f"{WEIGHTS_PREFIX}0002/{name}"] = value.numpy().astype(np.float64)
    name = next(iter(model.state_dict()))
    arrays[f"{WEIGHTS_PREFIX}0002/{name}"].reshape(-1)[0] = 1e300
    history = TrainingHistory.from_arrays(arrays, model.config.to_dict())
    assert history is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckpointError, match="too large for float32") as caught:
            history.model_at(2)
    assert repr(name) in str(caught.value) and "epoch 2" in str(caught.value)

"""The training history kept in checkpoints: schedules, size budget, interpolation, models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint_file import CheckpointError
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.history import (
    EPOCHS_KEY,
    LOGVAR_KEY,
    MU_KEY,
    HistoryRecorder,
    TrainingHistory,
    latent_schedule,
    thin,
    weight_schedule,
)
from vae_explorer.core.latent import decode_latents
from vae_explorer.core.model import VAE, VAEConfig


def test_weight_schedule_is_the_budget_and_the_last():
    assert weight_schedule(50) == [1, 2, 3, 5, 8, 13, 20, 30, 50]
    assert weight_schedule(7) == [1, 2, 3, 5, 7]
    assert weight_schedule(1) == [1]
    assert weight_schedule(200) == [1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 130, 200]
    assert weight_schedule(1000)[-4:] == [300, 500, 800, 1000]


def test_thin_keeps_first_and_last():
    assert thin([1, 2, 3], 5) == [1, 2, 3]
    assert thin(list(range(1, 11)), 3) == [1, 6, 10] or thin(list(range(1, 11)), 3) == [1, 5, 10]
    assert thin([1, 2, 3, 4], 1) == [4]


def test_latent_schedule_keeps_every_epoch_when_it_fits_and_thins_a_wide_model():
    assert latent_schedule(50, 10_000, 2) == list(range(1, 51))
    wide = latent_schedule(200, 10_000, 20)
    assert wide[0] == 1 and wide[-1] == 200 and len(wide) <= 20
    assert wide[1] - wide[0] <= wide[-1] - wide[-2]  # denser at the start


def _fake_run(config: VAEConfig, epochs: int, n_test: int, seed: int = 0) -> HistoryRecorder:
    """A recorder fed as run_job feeds it, with latents that drift with the epoch."""
    rng = np.random.default_rng(seed)
    model = VAE(config)
    size = sum(p.numel() * 4 for p in model.parameters())
    recorder = HistoryRecorder(epochs, n_test, config.latent_dim, size)
    base = rng.normal(size=(n_test, config.latent_dim)).astype(np.float32)
    for epoch in range(1, epochs + 1):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)
        recorder.record(epoch, model.state_dict(), base * epoch, np.full_like(base, -epoch / 10))
    return recorder


@pytest.mark.slow
def test_a_shipped_size_checkpoint_stays_under_20_mb(tmp_path):
    """784-256-2, 50 epochs, 10,000 test images: every epoch's latents and 9 weight sets."""
    config = VAEConfig(latent_dim=2, hidden_dim=256)
    arrays = _fake_run(config, 50, 10_000).arrays()
    assert arrays[EPOCHS_KEY].tolist() == list(range(1, 51))
    path = save_checkpoint(
        VAE(config), tmp_path / "big.safetensors", {}, arrays={k: np.array(v) for k, v in arrays.items()}
    )
    size = path.stat().st_size
    assert 10e6 < size < 20e6, size
    history = TrainingHistory.read(path)
    assert history is not None and history.weight_epochs == [1, 2, 3, 5, 8, 13, 20, 30, 50]


def test_a_wide_model_is_kept_within_the_budget_too(tmp_path):
    config = VAEConfig(latent_dim=20, hidden_dim=400)
    arrays = _fake_run(config, 30, 10_000).arrays()
    total = sum(a.nbytes for a in arrays.values())
    assert total < 20e6, total
    epochs = arrays[EPOCHS_KEY].tolist()
    assert epochs[0] == 1 and epochs[-1] == 30 and len(epochs) < 30


def test_the_latest_epoch_is_kept_until_a_later_one_replaces_it():
    config = VAEConfig(latent_dim=2, hidden_dim=8)
    recorder = HistoryRecorder(10, 5, 2, 1000)
    model = VAE(config)
    z = np.zeros((5, 2), np.float32)
    for epoch in range(1, 8):
        recorder.record(epoch, model.state_dict(), z + epoch, z)
        kept = sorted({n.split("/")[2] for n in recorder.arrays() if n.startswith("history/weights/")})
        expected = [e for e in (1, 2, 3, 5) if e <= epoch]
        if epoch not in expected:
            expected.append(epoch)
        assert [int(k) for k in kept] == expected
    arrays = recorder.arrays()
    assert arrays[MU_KEY].flags.writeable is False  # shared between snapshots
    assert arrays[EPOCHS_KEY].tolist() == list(range(1, 8))


def _history(epochs=(1, 2, 4), n=6, d=2) -> TrainingHistory:
    mu = np.stack([np.full((n, d), e, np.float16) for e in epochs])
    logvar = -mu
    history = TrainingHistory.from_arrays(
        {EPOCHS_KEY: np.array(epochs, np.int32), MU_KEY: mu, LOGVAR_KEY: logvar}
    )
    assert history is not None
    return history


def test_latents_interpolate_linearly_between_recorded_epochs():
    history = _history()
    assert np.allclose(history.latents(2).mu, 2)
    assert np.allclose(history.latents(1.25).mu, 1.25)
    assert np.allclose(history.latents(3).mu, 3)  # halfway between 2 and 4
    assert np.allclose(history.latents(3.5).logvar, -3.5)
    assert np.allclose(history.latents(0).mu, 1) and np.allclose(history.latents(99).mu, 4)  # clamped
    assert history.latents(1.5).mu.dtype == np.float32
    with pytest.raises(ValueError, match="finite"):
        history.latents(float("nan"))


def test_inconsistent_histories_are_named():
    good = {
        EPOCHS_KEY: np.array([1, 2], np.int32),
        MU_KEY: np.zeros((2, 3, 2)),
        LOGVAR_KEY: np.zeros((2, 3, 2)),
    }
    assert TrainingHistory.from_arrays({}) is None
    with pytest.raises(CheckpointError, match="increasing"):
        TrainingHistory.from_arrays({**good, EPOCHS_KEY: np.array([2, 1], np.int32)})
    with pytest.raises(CheckpointError, match="2 epochs were recorded"):
        TrainingHistory.from_arrays({**good, MU_KEY: np.zeros((3, 3, 2))})
    with pytest.raises(CheckpointError, match="no test latents"):
        TrainingHistory.from_arrays({EPOCHS_KEY: good[EPOCHS_KEY]})


def test_weights_epoch_and_model_at_rebuild_the_kept_weights(tmp_path):
    config = VAEConfig(latent_dim=2, hidden_dim=16)
    recorder = _fake_run(config, 6, 20)
    final = VAE(config)
    path = save_checkpoint(
        final, tmp_path / "h.safetensors", {}, arrays={k: np.array(v) for k, v in recorder.arrays().items()}
    )
    ckpt = load_checkpoint(path)
    history = TrainingHistory.from_checkpoint(ckpt)
    assert history is not None
    assert history.weight_epochs == [1, 2, 3, 5, 6]
    assert (
        history.weights_epoch(4.7) == 3
        and history.weights_epoch(5) == 5
        and history.weights_epoch(0.5) is None
    )
    m2, m5 = history.model_at(2), history.model_at(5)
    assert np.allclose(
        m5.enc_hidden.bias.detach().numpy() - m2.enc_hidden.bias.detach().numpy(), 0.03, atol=2e-3
    )
    z = np.zeros((1, 2), np.float32)
    assert not np.allclose(decode_latents(m2, z), decode_latents(m5, z))
    with pytest.raises(KeyError, match="kept: 1, 2, 3, 5, 6"):
        history.model_at(4)


def test_a_checkpoint_without_history_gives_none(tmp_path):
    path = save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=8)), tmp_path / "plain.safetensors")
    assert TrainingHistory.from_checkpoint(load_checkpoint(path)) is None
    assert TrainingHistory.read(path) is None


def test_reading_a_history_imports_no_torch(tmp_path):
    """The window can read a checkpoint's history before torch is loaded."""
    import subprocess
    import sys

    config = VAEConfig(latent_dim=2, hidden_dim=8)
    arrays = {k: np.array(v) for k, v in _fake_run(config, 3, 10).arrays().items()}
    path = save_checkpoint(VAE(config), tmp_path / "h.safetensors", {}, arrays=arrays)
    code = (
        "import sys\n"
        "from vae_explorer.core.history import TrainingHistory\n"
        f"h = TrainingHistory.read({str(path)!r})\n"
        "assert h.epochs.tolist() == [1, 2, 3] and h.latents(1.5).mu.shape == (10, 2)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_very_long_run_on_a_tiny_test_set_keeps_a_bounded_history():
    epochs = latent_schedule(100_000, 10, 2)
    assert len(epochs) <= 500 and epochs[0] == 1 and epochs[-1] == 100_000
    assert weight_schedule(100_000)[-3:] == [50_000, 80_000, 100_000]

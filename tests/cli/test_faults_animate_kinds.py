"""`vae-explorer animate` and the window's Animation export on models the 2-d scatter does
not fit: a 1-d latent space (drawn on one axis, y = 0) and labelled models (which keep no
training history, and are told so)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cli_helpers import gif_frames

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY, TrainingHistory
from vae_explorer.core.model import VAE, VAEConfig

N_TEST = 30
SIZE = 64


def _history_arrays(epochs=(1, 2, 3), dim=1):
    rng = np.random.default_rng(0)
    e = len(epochs)
    mu = rng.normal(size=(e, N_TEST, dim)).astype(np.float16)
    return {EPOCHS_KEY: np.asarray(epochs, np.int32), MU_KEY: mu,
            LOGVAR_KEY: np.zeros((e, N_TEST, dim), np.float16)}  # fmt: skip


@pytest.fixture
def data(make_idx_folder):
    return make_idx_folder(20, N_TEST)


def _dot_rows(frame: np.ndarray) -> np.ndarray:
    """Rows of the picture (above the epoch strip) holding the dots' blue."""
    picture = frame[:SIZE].astype(int)
    blue = np.abs(picture - [78, 121, 167]).sum(axis=2) < 60
    return np.flatnonzero(blue.any(axis=1))


def test_animate_draws_a_one_dimensional_model_on_one_axis(tmp_path, data, capsys):
    torch.manual_seed(0)
    ckpt = save_checkpoint(VAE(VAEConfig(latent_dim=1, hidden_dim=8)), tmp_path / "z1.safetensors",
                           {"dataset": "mnist"}, arrays=_history_arrays())  # fmt: skip
    out = tmp_path / "z1.gif"
    code = main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(data), "--size", str(SIZE),
                 "--quiet", "--steps-between", "1"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    frames = gif_frames(out)
    assert len(frames) == 3 + 2
    for frame in frames:
        rows = _dot_rows(frame)
        assert rows.size and rows.max() - rows.min() <= 4  # one band through the middle: y = 0
        assert abs((rows.max() + rows.min()) / 2 - SIZE / 2) <= 3


def test_the_windows_animation_export_of_a_one_dimensional_history(tmp_path):
    from vae_explorer.gui.window.animation_export import write_animation

    history = TrainingHistory.from_arrays(_history_arrays(epochs=(1, 2)), None, "test")
    assert history is not None
    labels = np.arange(N_TEST) % 10
    out = tmp_path / "z1.gif"
    progress = list(write_animation(history, labels, out, fps=4, size=SIZE, steps_between=0))
    assert progress[-1] == (2, 2)
    assert len(gif_frames(out)) == 2


def test_history_frames_of_one_dimension_lie_on_y_0():
    from vae_explorer.core.figures import history_frames

    history = TrainingHistory.from_arrays(_history_arrays(), None, "test")
    frames = list(history_frames(history, None, SIZE))
    assert len(frames) == 3
    for frame in frames:
        rows = _dot_rows(frame)
        assert rows.size and rows.max() - rows.min() <= 4


@pytest.mark.parametrize("kind", ["m2", "m1m2"])
def test_a_labelled_checkpoint_is_told_that_labelled_runs_keep_no_history(tmp_path, capsys, kind):
    from vae_explorer.core.labelled.model import LabelledConfig, LabelledModel

    config = LabelledConfig(kind, latent_dim=2, hidden_dim=8, classifier_hidden_dim=8, m1_latent_dim=4,
                            m1_hidden_dim=8)  # fmt: skip
    ckpt = save_checkpoint(LabelledModel(config), tmp_path / f"{kind}.safetensors", {"dataset": "mnist"})
    out = tmp_path / "x.gif"
    assert main(["animate", str(ckpt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(ckpt) in err and f"labelled {kind} model" in err
    assert "VAE's training history" in err and "labelled runs keep none" in err
    assert "train it again" not in err
    assert not out.exists()


def test_the_command_knows_every_labelled_kind():
    """animate names the labelled kinds itself (no torch import there): the same as the model's."""
    from vae_explorer.commands.animate import LABELLED_KINDS
    from vae_explorer.core.labelled.model import KINDS

    assert set(LABELLED_KINDS) == set(KINDS)

"""`vae-explorer animate`: a GIF of the training history, frames = epochs."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import gif_frames

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import (
    Snapshot,
    TrainConfig,
    TrainingFinished,
    TrainingJob,
    run_job,
    save_snapshot,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_test):
    """A 3-epoch run on a folder of 120 train / 90 test digits, saved as the CLI saves."""
    from vae_explorer.core.data import SPLIT_FILES, write_idx

    folder = tmp_path_factory.mktemp("data")
    for split, n in (("train", 120), ("test", 90)):
        img, lab = SPLIT_FILES[split]
        write_idx(folder / f"{img}.gz", mnist_test.images[:n])
        write_idx(folder / f"{lab}.gz", mnist_test.labels[:n])
    job = TrainingJob(VAEConfig(latent_dim=2, hidden_dim=16), TrainConfig(epochs=3, batch_size=40, seed=1),
                      dataset=str(folder))  # fmt: skip
    events = list(run_job(job))
    snap = [e for e in events if isinstance(e, Snapshot)][-1]
    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    path = save_snapshot(folder / "run.safetensors", snap, finished.metadata)
    return path, folder


def test_a_gif_has_one_frame_per_epoch_and_the_points_move(trained, tmp_path, capsys):
    ckpt, folder = trained
    out = tmp_path / "run.gif"
    code = main(
        ["animate", str(ckpt), "--out", str(out), "--data-dir", str(folder), "--size", "96", "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip().endswith("run.gif")
    frames = gif_frames(out)
    assert len(frames) == 3
    assert frames[0].shape == (96 + 1 + 4, 96, 3)  # the picture, a gap, the epoch strip
    assert not np.array_equal(frames[0][:96], frames[-1][:96])

    # The strip fills up: more of it is coloured at the last epoch than at the first.
    def filled(f):
        return int((np.abs(f[-2].astype(int) - [78, 121, 167]).sum(axis=1) < 40).sum())

    assert filled(frames[0]) < filled(frames[1]) < filled(frames[2])


def test_steps_between_adds_interpolated_frames(trained, tmp_path):
    ckpt, folder = trained
    out = tmp_path / "smooth.gif"
    assert main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(folder), "--size", "64",
                 "--steps-between", "2", "--quiet"]) == 0  # fmt: skip
    assert len(gif_frames(out)) == 3 + 2 * 2
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary left


def test_a_checkpoint_without_history_is_named_and_nothing_is_written(tmp_path, capsys):
    ckpt = save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=8)), tmp_path / "plain.safetensors")
    out = tmp_path / "x.gif"
    assert main(["animate", str(ckpt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no training history" in err and "vae-explorer train" in err
    assert not out.exists()


def test_bad_output_and_missing_video_support(trained, tmp_path, capsys, monkeypatch):
    ckpt, folder = trained
    assert main(["animate", str(ckpt), "--out", str(tmp_path / "x.avi")]) == 2
    assert ".gif or .mp4" in capsys.readouterr().err
    import vae_explorer.commands.animate as animate

    monkeypatch.setattr(animate, "has_ffmpeg", lambda: False)
    assert main(["animate", str(ckpt), "--out", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert "imageio-ffmpeg" in err and ".gif" in err and "\n" not in err


def test_an_mp4_when_imageio_ffmpeg_is_there(trained, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    ckpt, folder = trained
    out = tmp_path / "run.mp4"
    assert main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(folder), "--size", "65",
                 "--quiet"]) == 0  # fmt: skip
    assert _mp4_frames(out) == 3


def _mp4_frames(path) -> int:
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as reader:
        return sum(1 for _ in reader)


def test_a_wider_latent_space_is_shown_in_its_pca_plane(tmp_path, make_idx_folder):
    """latent_dim 3: frames show the last epoch's PCA plane (history written by hand)."""
    from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY

    rng = np.random.default_rng(0)
    mu = np.stack([rng.normal(size=(30, 3)) * [3, 1, 0.1] * e for e in (1, 2)]).astype(np.float16)
    arrays = {EPOCHS_KEY: np.array([1, 2], np.int32), MU_KEY: mu, LOGVAR_KEY: np.zeros_like(mu)}
    ckpt = save_checkpoint(VAE(VAEConfig(latent_dim=3, hidden_dim=8)), tmp_path / "z3.safetensors",
                           {"dataset": "mnist"}, arrays=arrays)  # fmt: skip
    out = tmp_path / "z3.gif"
    data = make_idx_folder(20, 30)
    assert (
        main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(data), "--size", "64", "--quiet"])
        == 0
    )
    assert len(gif_frames(out)) == 2
    # A test split of another size than the history's is named.
    other = tmp_path / "other"
    other.mkdir()
    from vae_explorer.core.data import SPLIT_FILES, write_idx

    for split in ("train", "test"):
        img, lab = SPLIT_FILES[split]
        write_idx(other / f"{img}.gz", np.zeros((5, 28, 28), np.uint8))
        write_idx(other / f"{lab}.gz", np.zeros(5, np.uint8))
    assert main(["animate", str(ckpt), "--out", str(out), "--data-dir", str(other), "--quiet"]) == 2

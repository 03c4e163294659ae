"""`vae-explorer figures`: three PNGs of the right kind and size for a checkpoint."""

from __future__ import annotations

import pytest
import torch

from vae_explorer.cli import main
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(100, 300)


@pytest.mark.parametrize("latent_dim", [2, 3])
def test_writes_the_three_figures(tmp_path, data_dir, latent_dim, capsys):
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=16)), ckpt, {"dataset": "mnist"})
    out = tmp_path / "figs"
    code = main(["figures", str(ckpt), "--out", str(out), "--data-dir", str(data_dir),
                 "--grid", "8", "--digits", "6"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["tiny-imputation.png", "tiny-latent-grid.png", "tiny-latents.png"]
    assert sorted(p.rsplit("/", 1)[-1] for p in printed) == names
    w, h = _png_size(out / "tiny-latent-grid.png")
    assert w >= 8 * 28 * 2 and h >= 8 * 28 * 2  # a grid of 8x8 tiles, enlarged twice
    w, h = _png_size(out / "tiny-imputation.png")
    assert h >= 6 * 30 * 2 and w >= 6 * 30 * 2  # rows: original, masked, four methods
    w, h = _png_size(out / "tiny-latents.png")
    assert w > h >= 400  # the plot plus a legend column


def test_refuses_unknown_methods(tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(VAE(VAEConfig(hidden_dim=8)), ckpt)
    assert main(["figures", str(ckpt), "--out", str(tmp_path), "--methods", "magic"]) == 2
    assert "--methods" in capsys.readouterr().err


def _png_size(path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size

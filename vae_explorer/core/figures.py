"""The seed article's pictures as arrays, and a minimal PNG writer (zlib only, no Qt).

- ``latent_grid_figure``: decoded latent grid (the manifold, figures 8 and 9), spaced by
  the inverse Gaussian CDF so each tile covers an equal share of the prior's mass;
- ``imputation_figure``: rows original / masked / imputed (figures 12 and 13), with the
  missing pixels tinted in the masked row so they read as "hidden", not as "black";
- ``class_colours``: the palette the latent scatter (figures 10 and 11) uses.

Text (legends, axis labels) needs fonts, so it is drawn by vae_explorer.gui.figure_render.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .latent import decode_latents, gaussian_grid_axis, grid_latents, tile_images
from .model import IMAGE_SIDE, VAE

# Ten distinct colours (the "tab10" palette), one per class.
CLASS_COLOURS = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ],
    np.uint8,
)  # fmt: skip
MISSING_TINT = np.array([70, 110, 200], np.float32) / 255  # hidden pixels, in the masked row


def class_colours(n: int) -> np.ndarray:
    """uint8 [n, 3] colours for n classes (the palette repeats after ten)."""
    return CLASS_COLOURS[np.arange(n) % len(CLASS_COLOURS)]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (or uint8 already) as uint8, clipped."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes for a greyscale [H, W] or RGB [H, W, 3] image (uint8, or float in [0, 1])."""
    a = to_uint8(image)
    if a.ndim == 2:
        colour_type = 0
    elif a.ndim == 3 and a.shape[2] == 3:
        colour_type = 2
    elif a.ndim == 3 and a.shape[2] == 4:
        colour_type = 6
    else:
        raise ValueError(f"PNG needs [H, W], [H, W, 3] or [H, W, 4] pixels, got {a.shape}")
    h, w = a.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("cannot write an empty image")
    rows = np.ascontiguousarray(a).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write ``image`` as a PNG, atomically (temporary file, then rename)."""
    path = Path(path)
    data = encode_png(image)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_png_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) from a PNG's header; raises ValueError if it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (keeps pixels crisp in small figures)."""
    if factor <= 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def latent_grid_figure(
    model: VAE, n: int = 20, tail: float = 0.05, dims: tuple[int, int] = (0, 1), pad: int = 0
) -> np.ndarray:
    """Decoded latent grid, float [n*28, n*28] in [0, 1] (top row = largest z_2).

    Other latent dimensions are held at the prior mean 0.
    """
    axis = gaussian_grid_axis(n, tail)
    z = grid_latents(axis, axis, latent_dim=model.latent_dim, dims=dims)
    return tile_images(decode_latents(model, z), n, n, pad=pad)


def imputation_figure(
    originals: Any, mask: Any, imputed_rows: list[Any], pad: int = 2
) -> np.ndarray:
    """RGB float [rows*(28+pad), k*(28+pad), 3]: originals, masked, then each imputed row.

    ``originals`` [k, 784] in [0, 1], ``mask`` bool [k, 784] (True = missing), each of
    ``imputed_rows`` [k, 784]. The masked row shows missing pixels in a blue tint.
    """
    orig = _as_float_images(originals)
    k = orig.shape[0]
    m = np.asarray(mask, bool).reshape(k, IMAGE_SIDE, IMAGE_SIDE)
    grey_rows = [orig] + [_as_float_images(r) for r in imputed_rows]
    rgb_rows = [np.repeat(r[..., None], 3, axis=-1) for r in grey_rows]
    masked = rgb_rows[0].copy()
    masked[m] = MISSING_TINT
    rgb_rows.insert(1, masked)
    tiles = np.concatenate(rgb_rows)  # [(rows)*k, 28, 28, 3]
    rows = len(rgb_rows)
    channels = [tile_images(tiles[..., c], rows, k, pad=pad) for c in range(3)]
    return np.stack(channels, axis=-1)


def _as_float_images(images: Any) -> np.ndarray:
    a = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    return a.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)

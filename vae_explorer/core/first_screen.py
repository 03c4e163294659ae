"""What the window's first screen shows, computed once and cached in a checkpoint.

The window paints a checkpoint's cached arrays before torch is imported (start-up in about a
second), then builds the model in the background. The arrays:

- ``test_mu``, ``test_logvar``: the test split's posterior means and log-variances under the
  saved weights (float32, [N_test, latent_dim]); the scatter and every latent view use them;
- ``first_screen/grid``: the latent grid dock's default picture (Gaussian-quantile spacing,
  ``DEFAULT_GRID_SIZE`` tiles a side, dims 0 and 1), uint8 [28 N, 28 N], row 0 the top;
- ``first_screen/preview``: the decoder preview's image at the origin, uint8 [28, 28];
- ``first_screen/palette``: the class colours as uint8 RGB [classes, 3], so the first paint
  colours classes as the scatter does without importing the module that defines them.

Read them with :func:`.checkpoint_file.read_arrays` (numpy only), then pass them through
:func:`usable_first_screen`: a cache is only a shortcut, so any array in it that is not what
it should be (a damaged or hand-made file) is dropped, as if the cache lacked it. Importing
this module does not import torch (the first paint uses it before torch is loaded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .image import IMAGE_SIDE, to_uint8

if TYPE_CHECKING:
    from .model import VAE

FIRST_SCREEN_PREFIX = "first_screen/"
LATENT_ARRAYS = ("test_mu", "test_logvar")
GRID_ARRAY = FIRST_SCREEN_PREFIX + "grid"
PREVIEW_ARRAY = FIRST_SCREEN_PREFIX + "preview"
PALETTE_ARRAY = FIRST_SCREEN_PREFIX + "palette"
FIRST_SCREEN_ARRAYS = (*LATENT_ARRAYS, GRID_ARRAY, PREVIEW_ARRAY, PALETTE_ARRAY)
DEFAULT_GRID_SIZE = 15  # the window's default (gui.state.DEFAULT_GRID_SIZE)
MAX_GRID_TILES = 64  # tiles a side in a cached grid (the window's grid goes up to 40)
MAX_CLASSES = 1024  # rows of a cached palette


def usable_first_screen(
    arrays: Mapping[str, np.ndarray], latent_dim: int | None = None
) -> dict[str, np.ndarray]:
    """``arrays`` without the cached first-screen arrays that cannot be used as they are
    (other arrays pass untouched): test latents that are not finite float [N, latent_dim]
    pairs of one shape, a grid that is not uint8-range [28 n, 28 n], a preview that is not
    [28, 28], a palette that is not uint8-range [classes, 3]. The kept ones come back as
    float32 (latents) or uint8 (pictures)."""
    out = {name: value for name, value in arrays.items() if name not in FIRST_SCREEN_ARRAYS}
    latents = usable_latents(arrays.get("test_mu"), arrays.get("test_logvar"), latent_dim)
    if latents is not None:
        out["test_mu"], out["test_logvar"] = latents
    grid = _uint8_picture(arrays.get(GRID_ARRAY))
    if grid is not None and grid.shape[0] == grid.shape[1] and _tiles(grid.shape[0]):
        out[GRID_ARRAY] = grid
    preview = _uint8_picture(arrays.get(PREVIEW_ARRAY))
    if preview is not None and preview.shape == (IMAGE_SIDE, IMAGE_SIDE):
        out[PREVIEW_ARRAY] = preview
    palette = usable_palette(arrays.get(PALETTE_ARRAY))
    if palette is not None:
        out[PALETTE_ARRAY] = palette
    return out


def usable_latents(
    mu: Any, logvar: Any, latent_dim: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mu, logvar) as float32 when both are finite real [N >= 1, d] arrays of one shape
    (d = ``latent_dim`` when given); else None."""
    if mu is None or logvar is None:
        return None
    mu, logvar = np.asarray(mu), np.asarray(logvar)
    if not (_is_real(mu) and _is_real(logvar)) or mu.ndim != 2 or mu.shape != logvar.shape:
        return None
    if mu.shape[0] < 1 or mu.shape[1] < 1 or (latent_dim is not None and mu.shape[1] != latent_dim):
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # float64 beyond float32: inf, refused
        mu32, logvar32 = mu.astype(np.float32, copy=False), logvar.astype(np.float32, copy=False)
    if not (np.isfinite(mu32).all() and np.isfinite(logvar32).all()):
        return None
    return mu32, logvar32


def usable_palette(palette: Any) -> np.ndarray | None:
    """``palette`` as uint8 RGB rows when it is a real [classes >= 1, 3] array of whole
    values in 0-255; else None."""
    if palette is None:
        return None
    rgb = np.asarray(palette)
    if rgb.ndim != 2 or rgb.shape[1] != 3 or not 1 <= rgb.shape[0] <= MAX_CLASSES:
        return None
    return _as_uint8(rgb)


def _is_real(a: np.ndarray) -> bool:
    """Integer or floating numbers (not bool, complex, text or objects)."""
    return a.dtype != np.bool_ and (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating))


def _as_uint8(a: np.ndarray) -> np.ndarray | None:
    """``a`` as uint8 when every value is a whole number in 0-255 (NaN is not); else None."""
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if not _is_real(a) or a.size == 0:
        return None
    if not ((a >= 0) & (a <= 255)).all() or not (a == np.round(a)).all():
        return None
    return np.ascontiguousarray(a.astype(np.uint8))


def _uint8_picture(image: Any) -> np.ndarray | None:
    if image is None:
        return None
    a = np.asarray(image)
    if a.ndim != 2 or a.size == 0:
        return None
    return _as_uint8(a)


def _tiles(side: int) -> bool:
    return side % IMAGE_SIDE == 0 and 1 <= side // IMAGE_SIDE <= MAX_GRID_TILES


def palette_rgb() -> np.ndarray:
    """CLASS_PALETTE as uint8 RGB rows."""
    from .figures import CLASS_PALETTE

    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CLASS_PALETTE], np.uint8)


def first_screen_images(model: VAE, grid_size: int = DEFAULT_GRID_SIZE) -> dict[str, np.ndarray]:
    """The grid, preview and palette arrays of ``model`` (milliseconds: 226 decodes)."""
    from .grid import decode_grid
    from .latent import decode_latents

    model.eval()
    dim = model.latent_dim
    dims = (0, 1) if dim > 1 else (0, 0)
    grid = decode_grid(model, grid_size, "gaussian", dims, ((-3.0, 3.0), (-3.0, 3.0)))
    preview = decode_latents(model, np.zeros((1, dim), np.float32))[0]
    return {GRID_ARRAY: to_uint8(grid.mosaic), PREVIEW_ARRAY: to_uint8(preview), PALETTE_ARRAY: palette_rgb()}


def first_screen_arrays(
    model: VAE, test_images: Any, grid_size: int = DEFAULT_GRID_SIZE
) -> dict[str, np.ndarray]:
    """All the arrays above for ``model`` and the test split's images ([N, 784] or [N, 28, 28])."""
    from .latent import encode_images

    model.eval()
    mu, logvar = encode_images(model, test_images)
    return {
        "test_mu": mu.astype(np.float32),
        "test_logvar": logvar.astype(np.float32),
        **first_screen_images(model, grid_size),
    }

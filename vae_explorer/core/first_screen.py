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

Read them with :func:`.checkpoint_file.read_arrays` (numpy only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .figures import CLASS_PALETTE
from .grid import decode_grid
from .image import to_uint8
from .latent import decode_latents, encode_images
from .model import VAE

FIRST_SCREEN_PREFIX = "first_screen/"
LATENT_ARRAYS = ("test_mu", "test_logvar")
GRID_ARRAY = FIRST_SCREEN_PREFIX + "grid"
PREVIEW_ARRAY = FIRST_SCREEN_PREFIX + "preview"
PALETTE_ARRAY = FIRST_SCREEN_PREFIX + "palette"
FIRST_SCREEN_ARRAYS = (*LATENT_ARRAYS, GRID_ARRAY, PREVIEW_ARRAY, PALETTE_ARRAY)
DEFAULT_GRID_SIZE = 15  # the window's default (gui.state.DEFAULT_GRID_SIZE)


def palette_rgb() -> np.ndarray:
    """CLASS_PALETTE as uint8 RGB rows."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CLASS_PALETTE], np.uint8)


def first_screen_images(model: VAE, grid_size: int = DEFAULT_GRID_SIZE) -> dict[str, np.ndarray]:
    """The grid, preview and palette arrays of ``model`` (milliseconds: 226 decodes)."""
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
    model.eval()
    mu, logvar = encode_images(model, test_images)
    return {
        "test_mu": mu.astype(np.float32),
        "test_logvar": logvar.astype(np.float32),
        **first_screen_images(model, grid_size),
    }

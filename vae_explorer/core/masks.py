"""Named missing-pixel masks shared by code, the CLI and the canvas.

A mask is boolean with True = missing (the pixel is hidden from the model and imputed).
"middle_rows" is the seed article's mask: rows 9..18 inclusive (ten of the 28 rows, the
band through the middle of the digit) are removed.
"""

from __future__ import annotations

import numpy as np

from .image import IMAGE_PIXELS, IMAGE_SIDE

MIDDLE_ROWS = (9, 19)  # half-open row range removed by "middle_rows": rows 9..18
CENTRE_SQUARE = (7, 21)  # half-open row/column range of the "centre_square" mask (14x14)
MASK_NAMES = ("middle_rows", "left_half", "bottom_half", "centre_square", "random")
DEFAULT_MASK = "middle_rows"
PRESET_FRACTION = 0.5  # share of pixels the "random" preset hides
# What the user reads for each mask (the canvas' preset buttons, figure titles).
MASK_LABELS = {
    "middle_rows": "Middle rows",
    "left_half": "Left half",
    "bottom_half": "Bottom half",
    "centre_square": "Centre square",
    "random": "Random 50%",
}
# One line on what each mask hides (tooltips).
MASK_DESCRIPTIONS = {
    "middle_rows": "Rows 9-18 missing, as in the seed article's figure",
    "left_half": "Columns 0-13 missing",
    "bottom_half": "Rows 14-27 missing",
    "centre_square": "The central 14x14 square missing",
    "random": "A new random half of the pixels missing at each click",
}


def middle_rows() -> np.ndarray:
    """bool [28, 28]: rows 9..18 missing (the seed article's figures 12 and 13)."""
    m = np.zeros((IMAGE_SIDE, IMAGE_SIDE), bool)
    m[MIDDLE_ROWS[0] : MIDDLE_ROWS[1], :] = True
    return m


def left_half() -> np.ndarray:
    """bool [28, 28]: columns 0..13 missing."""
    m = np.zeros((IMAGE_SIDE, IMAGE_SIDE), bool)
    m[:, : IMAGE_SIDE // 2] = True
    return m


def bottom_half() -> np.ndarray:
    """bool [28, 28]: rows 14..27 missing."""
    m = np.zeros((IMAGE_SIDE, IMAGE_SIDE), bool)
    m[IMAGE_SIDE // 2 :, :] = True
    return m


def centre_square() -> np.ndarray:
    """bool [28, 28]: the central 14x14 square (rows and columns 7..20) missing."""
    m = np.zeros((IMAGE_SIDE, IMAGE_SIDE), bool)
    lo, hi = CENTRE_SQUARE
    m[lo:hi, lo:hi] = True
    return m


def random_mask(fraction: float = 0.5, seed: int = 0) -> np.ndarray:
    """bool [28, 28] with exactly round(fraction * 784) pixels missing, chosen by ``seed``."""
    return _random_masks(1, fraction, seed)[0].reshape(IMAGE_SIDE, IMAGE_SIDE)


def _random_masks(n: int, fraction: float, seed: int) -> np.ndarray:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction of missing pixels must be in [0, 1], got {fraction}")
    k = int(round(fraction * IMAGE_PIXELS))
    rng = np.random.default_rng(seed)
    # argsort of uniform keys = an independent random permutation per row, vectorised.
    order = np.argsort(rng.random((n, IMAGE_PIXELS)), axis=1)
    out = np.zeros((n, IMAGE_PIXELS), bool)
    np.put_along_axis(out, order[:, :k], True, axis=1)
    return out


_FIXED = {
    "middle_rows": middle_rows,
    "left_half": left_half,
    "bottom_half": bottom_half,
    "centre_square": centre_square,
}


def mask_image(name: str, fraction: float = 0.5, seed: int = 0) -> np.ndarray:
    """One named mask as bool [28, 28] (True = missing)."""
    return make_mask(name, 1, fraction=fraction, seed=seed)[0].reshape(IMAGE_SIDE, IMAGE_SIDE)


def preset_mask(name: str, seed: int = 0) -> np.ndarray:
    """The canvas' preset ``name`` as bool [28, 28] (True = missing); "random" hides
    ``PRESET_FRACTION`` of the pixels, chosen by ``seed``."""
    return mask_image(name, fraction=PRESET_FRACTION, seed=seed)


def make_mask(name: str, n: int = 1, fraction: float = 0.5, seed: int = 0) -> np.ndarray:
    """Named mask for ``n`` images as bool [n, 784] (True = missing).

    Fixed masks are the same for every image; "random" draws a different set of exactly
    round(fraction * 784) pixels for each image, reproducibly from ``seed``.
    """
    key = name.strip().lower().replace("-", "_")
    if key == "center_square":
        key = "centre_square"
    if n < 0:
        raise ValueError(f"number of masks must be >= 0, got {n}")
    if key == "random":
        return _random_masks(n, fraction, seed)
    if key not in _FIXED:
        raise ValueError(f"unknown mask {name!r}; choose one of {', '.join(MASK_NAMES)}")
    return np.broadcast_to(_FIXED[key]().reshape(1, IMAGE_PIXELS), (n, IMAGE_PIXELS)).copy()

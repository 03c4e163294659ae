"""The seed article's pictures as arrays, and the one class palette.

- ``latent_grid_figure``: decoded latent grid (the manifold, figures 8 and 9), spaced by
  the inverse Gaussian CDF so each tile covers an equal share of the prior's mass;
- ``imputation_figure``: rows original / masked / imputed (figures 12 and 13), with the
  missing pixels tinted in the masked row so they read as "hidden", not as "black";
- ``CLASS_PALETTE`` / ``class_colours``: the colours of the classes, in the app's latent
  scatter and in exported figures alike;
- ``scatter_picture`` / ``history_frames``: the latent scatter rasterised with numpy alone,
  and the frames of a training history's animation (epoch shown as a progress strip).

Text (legends, axis labels) needs fonts, so it is drawn by vae_explorer.gui.figure_render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .image import IMAGE_SIDE, as_float_images
from .latent import decode_latents, grid_axes, grid_latents, tile_images
from .model import VAE

if TYPE_CHECKING:
    from .history import TrainingHistory

__all__ = [
    "CLASS_PALETTE",
    "MISSING_TINT",
    "class_colours",
    "frame_epochs",
    "history_frames",
    "imputation_figure",
    "latent_grid_figure",
    "scatter_picture",
]

# One colour per class (Tableau 10), the palette of the app's scatter and of every figure.
CLASS_PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
MISSING_TINT = np.array([70, 110, 200], np.float32) / 255  # hidden pixels, in the masked row


def class_colours(n: int) -> np.ndarray:
    """RGB uint8 [n, 3] (0-255) for n classes from ``CLASS_PALETTE`` (repeating after ten)."""
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CLASS_PALETTE], np.uint8)
    return rgb[np.arange(n) % len(CLASS_PALETTE)]


def latent_grid_figure(
    model: VAE, n: int = 20, tail: float = 0.05, dims: tuple[int, int] = (0, 1), pad: int = 0
) -> np.ndarray:
    """Decoded latent grid, float [n*28, n*28] in [0, 1] (top row = largest z_2).

    Other latent dimensions are held at the prior mean 0. A 1-d latent space has no second
    axis: its picture is the one row of n tiles along z_1, float [28, n*28].
    """
    xs, ys = grid_axes(n, "gaussian", tail=tail)
    if model.latent_dim < 2:
        z = np.asarray(xs, np.float32).reshape(-1, 1)
        return tile_images(decode_latents(model, z), 1, n, pad=pad)
    z = grid_latents(xs, ys, latent_dim=model.latent_dim, dims=dims)
    return tile_images(decode_latents(model, z), n, n, pad=pad)


def imputation_figure(originals: Any, mask: Any, imputed_rows: list[Any], pad: int = 2) -> np.ndarray:
    """RGB float [rows*(28+pad), k*(28+pad), 3]: originals, masked, then each imputed row.

    ``originals`` [k, 784] in [0, 1], ``mask`` bool [k, 784] (True = missing), each of
    ``imputed_rows`` [k, 784]. The masked row shows missing pixels in a blue tint.
    """
    orig = as_float_images(originals)
    k = orig.shape[0]
    m = np.asarray(mask, bool).reshape(k, IMAGE_SIDE, IMAGE_SIDE)
    grey_rows = [orig] + [as_float_images(r) for r in imputed_rows]
    rgb_rows = [np.repeat(r[..., None], 3, axis=-1) for r in grey_rows]
    masked = rgb_rows[0].copy()
    masked[m] = MISSING_TINT
    rgb_rows.insert(1, masked)
    tiles = np.concatenate(rgb_rows)  # [(rows)*k, 28, 28, 3]
    rows = len(rgb_rows)
    channels = [tile_images(tiles[..., c], rows, k, pad=pad) for c in range(3)]
    return np.stack(channels, axis=-1)


Extent = tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
_SUPERSAMPLE = 2  # dots drawn at twice the size, then averaged down: smooth edges
_BACKGROUND = 255
_AXIS_GREY = 215
_STRIP_FILL = np.array([78, 121, 167], np.uint8)  # the palette's first blue
_STRIP_BACK = np.array([232, 232, 232], np.uint8)
_STRIP_TICK = np.array([150, 150, 150], np.uint8)


def square_extent(points: np.ndarray, margin: float = 0.05, coverage: float = 99.8) -> Extent:
    """A square view around ``points`` [..., 2] holding ``coverage`` % of them (far outliers
    do not shrink the rest), with ``margin`` on each side; equal scales on both axes."""
    # float64: latents near float32's limit (a diverged run's) overflowed the spread to inf.
    xy = np.asarray(points, np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if xy.size == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    tail = (100 - coverage) / 2
    lo, hi = np.percentile(xy, [tail, 100 - tail], axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-6) * (1 + 2 * margin)
    extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (np.isfinite(extent).all() and x1 > x0 and y1 > y0):  # (a spread lost to rounding)
        return (-1.0, 1.0, -1.0, 1.0)
    return (x0, x1, y0, y1)


def _disk(radius: float) -> list[tuple[int, int]]:
    r = int(np.ceil(radius))
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dx * dx + dy * dy <= radius**2]


def scatter_picture(
    xy: np.ndarray,
    colours: np.ndarray,
    extent: Extent,
    size: int = 480,
    radius: float = 1.6,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """RGB uint8 [size, size, 3]: round dots of ``colours`` [N, 3] at ``xy`` [N, 2] on white
    (top = largest y), light axis lines through 0, points outside ``extent`` left out.

    Dots are painted in ``order`` (default: as given), later ones on top; a fixed shuffled
    order keeps one class from covering the others in every frame.
    """
    s = size * _SUPERSAMPLE
    # One uint32 per pixel (RGBA bytes): a dot is one scalar write, not three.
    canvas4 = np.full((s, s, 4), _BACKGROUND, np.uint8)
    x0, x1, y0, y1 = extent
    scale = s / (x1 - x0)
    zero_col, zero_row = int(round(-x0 * scale)), int(round(y1 * scale))
    if 0 <= zero_col < s:
        canvas4[:, max(zero_col - 1, 0) : zero_col + 1, :3] = _AXIS_GREY
    if 0 <= zero_row < s:
        canvas4[max(zero_row - 1, 0) : zero_row + 1, :, :3] = _AXIS_GREY
    pts = np.asarray(xy, np.float64)
    rgba = np.full((len(pts), 4), 255, np.uint8)
    rgba[:, :3] = colours
    if order is not None:
        pts, rgba = pts[order], rgba[order]
    packed = rgba.view(np.uint32).reshape(-1)
    colf, rowf = (pts[:, 0] - x0) * scale, (y1 - pts[:, 1]) * scale
    # Only points near the picture (finite, and small enough for an int64 pixel index).
    near = np.isfinite(colf) & np.isfinite(rowf) & (np.abs(colf) < 4 * s) & (np.abs(rowf) < 4 * s)
    packed = packed[near]
    col, row = np.round(colf[near]).astype(np.int64), np.round(rowf[near]).astype(np.int64)
    flat = canvas4.view(np.uint32).reshape(-1)
    for dy, dx in _disk(radius * _SUPERSAMPLE):
        r, c = row + dy, col + dx
        inside = (r >= 0) & (r < s) & (c >= 0) & (c < s)
        # Fancy assignment keeps the last write to a pixel: the later dot wins.
        flat[r[inside] * s + c[inside]] = packed[inside]
    canvas = canvas4[..., :3]
    total = np.zeros((size, size, 3), np.uint16)
    for dy in range(_SUPERSAMPLE):
        for dx in range(_SUPERSAMPLE):
            total += canvas[dy::_SUPERSAMPLE, dx::_SUPERSAMPLE]
    cells = _SUPERSAMPLE * _SUPERSAMPLE
    return ((total + cells // 2) // cells).astype(np.uint8)


def progress_strip(width: int, height: int, fraction: float, ticks: Sequence[float] = ()) -> np.ndarray:
    """RGB uint8 [height, width, 3]: a bar filled to ``fraction``, with marks at ``ticks``
    (fractions, e.g. the recorded epochs)."""
    strip = np.empty((height, width, 3), np.uint8)
    strip[:] = _STRIP_BACK
    filled = int(round(min(max(fraction, 0.0), 1.0) * width))
    strip[:, :filled] = _STRIP_FILL
    for tick in ticks:
        x = min(int(round(tick * (width - 1))), width - 1)
        strip[: max(height // 3, 1), x] = _STRIP_TICK
    return strip


def frame_epochs(history: TrainingHistory, steps_between: int = 0) -> list[float]:
    """The epoch shown by each animation frame: every recorded epoch, with ``steps_between``
    evenly spaced epochs between each two."""
    epochs = [float(e) for e in history.epochs]
    times = [epochs[0]]
    for a, b in zip(epochs[:-1], epochs[1:], strict=True):
        times += [a + (b - a) * k / (steps_between + 1) for k in range(1, steps_between + 2)]
    return times


def history_frames(
    history: TrainingHistory,
    labels: Any = None,
    size: int = 480,
    steps_between: int = 0,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    dims: tuple[int, int] = (0, 1),
) -> Iterator[np.ndarray]:
    """The animation of a training history: RGB uint8 frames [size + strip, size, 3], one per
    :func:`frame_epochs` entry, the test latents coloured by ``labels`` (class indices;
    None: one colour) on axes fixed over all epochs, and a strip below showing the epoch.

    ``project`` maps latents [N, d] to the plane [N, 2] (e.g. a PCA plane's ``to_plane``);
    by default the latent dimensions ``dims`` are shown, and 1-d latents lie on one axis
    (y = 0), as in the window's scatter.
    """
    if size < 16:
        raise ValueError(f"frame size must be at least 16 pixels, got {size}")
    latent_dim = history.test_mu.shape[2]
    if project is None and latent_dim >= 2 and not all(0 <= d < latent_dim for d in dims):
        raise ValueError(f"dimensions {dims} are not among the {latent_dim} latent dimensions")

    def plane(z: np.ndarray) -> np.ndarray:
        if project is not None:
            return project(z)
        if latent_dim < 2:
            return np.concatenate([z[:, :1], np.zeros((len(z), 1), z.dtype)], axis=1)
        return z[:, list(dims)]

    n = history.test_mu.shape[1]
    if labels is None:
        colours = np.repeat(class_colours(1), n, axis=0)
    else:
        classes = np.asarray(labels).reshape(-1)
        if classes.shape[0] != n:
            raise ValueError(f"{classes.shape[0]} labels for {n} recorded test latents")
        colours = class_colours(int(classes.max()) + 1 if classes.size else 1)[classes]
    order = np.random.default_rng(0).permutation(n)
    recorded = np.concatenate(
        [plane(history.test_mu[k].astype(np.float32)) for k in range(len(history.epochs))]
    )
    extent = square_extent(recorded)
    last = max(history.last, 1)
    # Epochs count from 1, so the strip shows epoch t of the run as t / last (never empty).
    ticks = [e / last for e in history.epochs.tolist()]
    strip_height = max(size // 40, 4)
    gap = np.full((max(size // 120, 1), size, 3), _BACKGROUND, np.uint8)
    radius = 1.6 * size / 480
    for t in frame_epochs(history, steps_between):
        xy = plane(history.latents(t).mu)
        picture = scatter_picture(xy, colours, extent, size, max(radius, 0.8), order)
        strip = progress_strip(size, strip_height, t / last, ticks)
        yield np.concatenate([picture, gap, strip])

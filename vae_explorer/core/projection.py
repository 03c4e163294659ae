"""Seeing a latent space of more than two dimensions on a plane.

- :class:`PCAProjection`: the plane of the test latents' two main axes. Exactly invertible
  on that plane (``from_plane(xy) = mean + x pc1 + y pc2``), so a click on it decodes.
- :func:`neighbour_projection`: a UMAP (umap-learn) or t-SNE (openTSNE, else scikit-learn)
  map of the test latents. It has no inverse: :meth:`NeighbourProjection.nearest_code`
  gives the code of the nearest test point. Maps are cached per model and data in the
  user cache folder (``VAE_EXPLORER_CACHE_DIR`` overrides it).

Neither package is a core requirement (they are large): install the ``projections`` extra
(`pip install "vae-explorer[projections]"`: openTSNE) or ``umap`` (umap-learn).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_path

METHODS = ("umap", "tsne")
METHOD_LABELS = {"umap": "UMAP", "tsne": "t-SNE"}
CACHE_VERSION = 1
Progress = Callable[[float, str], None]  # (fraction done, what is happening)


class ProjectionError(Exception):
    """A projection cannot be computed (a missing package, too few points)."""


@dataclass(frozen=True)
class PCAProjection:
    """The plane through ``mean`` spanned by the two main axes ``components`` [2, d]
    (orthonormal rows; the second is zero when d == 1)."""

    mean: np.ndarray  # [d]
    components: np.ndarray  # [2, d]
    explained_variance: np.ndarray  # [2] variance along each axis
    explained_ratio: np.ndarray  # [2] share of the total variance along each axis

    @classmethod
    def fit(cls, latent_means: Any) -> PCAProjection:
        z = np.asarray(latent_means, np.float64)
        if z.ndim != 2 or z.shape[0] < 2 or not np.isfinite(z).all():
            raise ProjectionError(f"PCA needs at least two finite latent codes [N, d], got shape {z.shape}")
        mean = z.mean(axis=0)
        cov = np.cov(z - mean, rowvar=False).reshape(z.shape[1], z.shape[1])
        values, vectors = np.linalg.eigh(cov)  # ascending
        take = np.argsort(values)[::-1][:2]
        comps = vectors[:, take].T
        # A fixed sign (largest entry positive): the same data always gives the same picture.
        signs = np.sign(comps[np.arange(len(take)), np.abs(comps).argmax(axis=1)])
        comps = comps * np.where(signs == 0, 1, signs)[:, None]
        var = np.clip(values[take], 0, None)
        total = float(np.clip(values, 0, None).sum())
        if len(take) < 2:
            comps = np.vstack([comps, np.zeros((1, z.shape[1]))])
            var = np.append(var, 0.0)
        ratio = var / total if total > 0 else np.zeros(2)
        return cls(mean, comps, var, ratio)

    def to_plane(self, z: Any) -> np.ndarray:
        """Plane coordinates [N, 2] (float32) of codes z [N, d] (their orthogonal projection;
        one beyond float32's range is infinite, which the views and frames leave out)."""
        plane = (np.asarray(z, np.float64) - self.mean) @ self.components.T
        with np.errstate(over="ignore"):
            return plane.astype(np.float32)

    def from_plane(self, xy: Any) -> np.ndarray:
        """Codes [N, d] (float32) on the plane: mean + x pc1 + y pc2; to_plane inverts it."""
        pts = np.asarray(xy, np.float64).reshape(-1, 2)
        return (self.mean + pts @ self.components).astype(np.float32)


@dataclass(frozen=True)
class NeighbourProjection:
    """A 2-d map of the test latents; ``embedding`` [N, 2] matches ``latents`` [N, d] row by row."""

    method: str
    embedding: np.ndarray
    latents: np.ndarray

    def nearest_index(self, xy: Any) -> int:
        point = np.asarray(xy, np.float64).reshape(2)
        return int(np.argmin(((self.embedding - point) ** 2).sum(axis=1)))

    def nearest_code(self, xy: Any) -> np.ndarray:
        """The code z [d] of the test point nearest to ``xy`` on the map (the map has no
        inverse, so a click on it means "that test image's code")."""
        return np.asarray(self.latents[self.nearest_index(xy)], np.float32).copy()


PROBE_INTERVAL_S = 30.0  # how long a look-up of the installed packages holds
_probed: tuple[float, tuple[str, ...]] | None = None


def available_methods() -> tuple[str, ...]:
    """The neighbour methods whose packages are installed. Every model change asks, and
    the look-up walks sys.path (~5 ms): it holds for PROBE_INTERVAL_S, so a package
    installed while the app runs is found at a model change after that."""
    global _probed
    now = time.monotonic()
    if _probed is None or now - _probed[0] > PROBE_INTERVAL_S:
        found = []
        if importlib.util.find_spec("umap") is not None:
            found.append("umap")
        if (
            importlib.util.find_spec("openTSNE") is not None
            or importlib.util.find_spec("sklearn") is not None
        ):
            found.append("tsne")
        _probed = (now, tuple(found))
    return _probed[1]


def missing_package_message(method: str) -> str:
    if method == "umap":
        return 'UMAP needs umap-learn: pip install "vae-explorer[umap]" (or pip install umap-learn)'
    return 't-SNE needs openTSNE: pip install "vae-explorer[projections]" (or pip install openTSNE)'


def weights_hash(model: Any) -> str:
    """A short hash of a model's weights (names, shapes and bytes)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{array.dtype}:{array.shape};".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """$VAE_EXPLORER_CACHE_DIR, else the user cache folder, + "projections"."""
    override = os.environ.get("VAE_EXPLORER_CACHE_DIR")
    if override:
        return Path(override) / "projections"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vae-explorer")) / "projections"


def neighbour_projection(
    latents: Any,
    method: str = "umap",
    model_key: str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> NeighbourProjection:
    """A UMAP or t-SNE map of ``latents`` [N, d] (e.g. the test means), cached under
    ``model_key`` (:func:`weights_hash`; None: not cached). ``progress(fraction, text)`` is
    called as it goes. ProjectionError when the package is missing or N < 5."""
    if method not in METHODS:
        raise ProjectionError(f"unknown projection {method!r}: use one of {', '.join(METHODS)}")
    z = np.ascontiguousarray(np.asarray(latents, np.float32))
    if z.ndim != 2 or z.shape[0] < 5 or not np.isfinite(z).all():
        raise ProjectionError(f"{METHOD_LABELS[method]} needs at least 5 finite codes [N, d], got {z.shape}")
    report = progress or (lambda fraction, text: None)
    path = _cache_path(z, method, model_key, seed) if model_key else None
    cached = _read_cache(path, z.shape[0]) if path is not None else None
    if cached is not None:
        report(1.0, f"{METHOD_LABELS[method]}: from the cache")
        return NeighbourProjection(method, cached, z)
    report(0.0, f"{METHOD_LABELS[method]} of {z.shape[0]:,} codes")
    embedding = _umap(z, seed, report) if method == "umap" else _tsne(z, seed, report)
    embedding = np.asarray(embedding, np.float32)
    if path is not None:
        _write_cache(path, embedding)
    report(1.0, f"{METHOD_LABELS[method]}: done")
    return NeighbourProjection(method, embedding, z)


def _umap(z: np.ndarray, seed: int, report: Progress) -> np.ndarray:
    if importlib.util.find_spec("umap") is None:
        raise ProjectionError(missing_package_message("umap"))
    import umap

    report(0.1, "UMAP: neighbours and layout")
    reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(z) - 1))
    return np.asarray(reducer.fit_transform(z))


def _tsne(z: np.ndarray, seed: int, report: Progress) -> np.ndarray:
    perplexity = float(min(30, (len(z) - 1) / 3))
    if importlib.util.find_spec("openTSNE") is not None:
        from openTSNE import TSNE

        total = 250 + 500  # openTSNE's early exaggeration + optimisation iterations

        class Callback:
            done = 0

            def __call__(self, iteration: int, error: float, embedding: Any) -> bool:
                self.done += 1
                report(min(0.05 + 0.95 * self.done * 10 / total, 0.99), "t-SNE: optimising")
                return False

        tsne = TSNE(
            perplexity=perplexity, random_state=seed, n_jobs=1, callbacks=Callback(), callbacks_every_iters=10
        )
        return np.asarray(tsne.fit(z))
    if importlib.util.find_spec("sklearn") is not None:
        from sklearn.manifold import TSNE as SKTSNE

        report(0.05, "t-SNE (scikit-learn): optimising")
        return np.asarray(SKTSNE(perplexity=perplexity, random_state=seed, init="pca").fit_transform(z))
    raise ProjectionError(missing_package_message("tsne"))


def _cache_path(z: np.ndarray, method: str, model_key: str, seed: int) -> Path:
    data = hashlib.sha256(z.tobytes()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() else "_" for c in model_key)[:64]
    return cache_dir() / f"{method}-v{CACHE_VERSION}-{safe}-{data}-s{seed}.npy"


def _read_cache(path: Path, n: int) -> np.ndarray | None:
    """The cached map, or None (computed again) when it is absent, unreadable or anything
    but a finite [n, 2] array: an empty file (EOFError), a truncated or foreign one (a zip's
    BadZipFile, a bad header's ValueError, a structured dtype's TypeError...)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 - a cache: whatever np.load raises means "compute it"
        return None
    try:
        if not isinstance(loaded, np.ndarray) or loaded.shape != (n, 2):
            return None
        array = np.asarray(loaded, np.float32)
        return array if np.isfinite(array).all() else None
    except Exception:  # noqa: BLE001 - e.g. a dtype that does not convert to numbers
        return None
    finally:
        if hasattr(loaded, "close"):  # an .npz archive (NpzFile) holds its file open
            loaded.close()


def _write_cache(path: Path, embedding: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.save(tmp, embedding, allow_pickle=False)
    except OSError:
        pass  # the cache is an optimisation: a full or read-only folder is not an error

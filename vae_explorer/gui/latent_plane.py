"""The plane the scatter shows a latent space on: two of its axes, its PCA plane, or a
UMAP / t-SNE map of the test latents.

- "axes": the state's two shown dims; a point of the plane is a code with the other
  dims at 0 (the scatter as it always was).
- "pca": the plane of the test means' two main axes, exactly invertible on it: a point
  (x, y) is the code mean + x pc1 + y pc2, so clicks, drags and the grid all work there.
  Refitted whenever the latents change (a new model, a snapshot).
- "umap" / "tsne": a neighbour map of the test means, computed in the background by the
  window (it takes seconds to minutes) and handed over with :meth:`set_map`. It has no
  inverse: a point of the map means the code of the nearest test point. The map belongs
  to the latents it was made from; when those change it is dropped (back to PCA).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.projection import METHOD_LABELS, NeighbourProjection, PCAProjection, ProjectionError

if TYPE_CHECKING:
    from .state import ExplorerState

NO_SECOND_AXIS = "(1-d latent: no second axis)"
KINDS = ("axes", "pca", "umap", "tsne")
KIND_LABELS = {"axes": "Two axes", "pca": "PCA plane", "umap": "UMAP", "tsne": "t-SNE"}


class LatentPlane(QObject):
    """The state's plane. ``changed``: another kind, or the same kind refitted."""

    changed = Signal()

    def __init__(self, state: ExplorerState) -> None:
        super().__init__(state)
        self._state = state
        self._kind = "axes"
        self.pca: PCAProjection | None = None
        self.map: NeighbourProjection | None = None
        self.note = ""  # what the user should know about the plane on show
        self._map_point: np.ndarray | None = None  # where a click on a map put the crosshair
        self.version = 0  # counts the changes (for caches of what depends on the plane)
        self.changed.connect(self._count_change)
        state.latentsChanged.connect(self._on_latents_changed)

    def _count_change(self) -> None:
        self.version += 1

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def is_axes(self) -> bool:
        return self._kind == "axes"

    def axis_labels(self) -> tuple[str, str]:
        if self._kind == "axes":
            x, y = self._state.dims
            if self._state.latent_dim == 1:  # its points lie on y = 0
                return f"z[{x}]", NO_SECOND_AXIS
            return f"z[{x}]", f"z[{y}]"
        if self._kind == "pca" and self.pca is not None:
            rx, ry = (100 * float(r) for r in self.pca.explained_ratio)
            return f"PC 1 ({rx:.0f} % of the variance)", f"PC 2 ({ry:.0f} % of the variance)"
        label = METHOD_LABELS.get(self._kind, self._kind)
        return f"{label} 1", f"{label} 2"

    # --- choosing --------------------------------------------------------------------------
    def set_kind(self, kind: str) -> bool:
        """Show the latents on ``kind`` ("axes" or "pca"; a map needs :meth:`set_map`).
        False (and nothing changes) when it cannot be shown now; ``note`` says why."""
        if kind not in ("axes", "pca"):
            raise ValueError(f"use set_map for {kind!r}")
        if kind == "pca":
            pca = self._fit()
            if pca is None:
                return False
            self.pca = pca
        self._kind, self.map, self._map_point = kind, None, None
        self.note = ""
        self.changed.emit()
        return True

    def set_map(self, projection: NeighbourProjection) -> bool:
        """Show a UMAP / t-SNE map made from the current test means."""
        latents = self._state.latents
        if latents is None or not _same(projection.latents, latents[0]):
            self.note = "the map was made from other latents (the model changed): compute it again"
            return False
        self._kind, self.map, self._map_point = projection.method, projection, None
        label = METHOD_LABELS.get(projection.method, projection.method)
        self.note = f"{label} has no inverse: a click decodes the nearest test image's code"
        self.changed.emit()
        return True

    # --- mapping ---------------------------------------------------------------------------
    def points(self, mu: np.ndarray) -> np.ndarray:
        """Plane coordinates [N, 2] of test means ``mu`` [N, d] (for a map: its embedding,
        which belongs to the current test means)."""
        if (map_ := self._map_on()) is not None:
            return map_.embedding
        if (pca := self._pca_on()) is not None:
            return pca.to_plane(mu)
        x, y = self._state.dims
        return np.stack([mu[:, x], mu[:, y] if mu.shape[1] > 1 else np.zeros(len(mu))], axis=1)

    def point_of(self, z: Any) -> tuple[float, float] | None:
        """Where code ``z`` [d] is on the plane; None when a map cannot place it (only the
        code of a click on the map has a place there)."""
        if z is None or len(z) != self._state.latent_dim:
            return None
        if (map_ := self._map_on()) is not None:
            if self._map_point is None:
                return None
            code = map_.nearest_code(self._map_point)
            return (float(self._map_point[0]), float(self._map_point[1])) if np.allclose(code, z) else None
        if (pca := self._pca_on()) is not None:
            xy = pca.to_plane(np.asarray(z)[None])[0]
            return float(xy[0]), float(xy[1])
        x, y = self._state.dims
        return float(z[x]), float(z[y]) if len(z) > 1 else 0.0

    def marker_point_of(self, z: Any) -> tuple[float, float] | None:
        """Where to mark code ``z`` (the canvas drawing's mean): :meth:`point_of`; on a map,
        which has no place for other codes, the place of the test point nearest to it."""
        if (map_ := self._map_on()) is not None and z is not None and len(z) == self._state.latent_dim:
            code = np.asarray(z, np.float64).reshape(1, -1)
            i = int(np.argmin(((np.asarray(map_.latents, np.float64) - code) ** 2).sum(axis=1)))
            return float(map_.embedding[i, 0]), float(map_.embedding[i, 1])
        return self.point_of(z)

    def covariance_of(self, logvar: Any) -> np.ndarray | None:
        """The 2 x 2 covariance on the plane of a diagonal Gaussian with ``logvar`` [d]: its
        projection on the axes or the PCA plane; None on a map (not a linear projection)."""
        dim = self._state.latent_dim
        if logvar is None or len(logvar) != dim or self._map_on() is not None:
            return None
        if (pca := self._pca_on()) is not None:
            rows = np.asarray(pca.components, np.float64)
        else:
            x, y = self._state.dims
            if max(x, y) >= dim:
                return None
            rows = np.zeros((2, dim))
            rows[0, x] = 1.0
            if dim > 1:
                rows[1, y] = 1.0
        var = np.exp(np.asarray(logvar, np.float64))
        return (rows * var) @ rows.T

    def code_at(self, xy: Any) -> np.ndarray | None:
        """The code a point of the plane stands for (None on the axes: the state's own rule)."""
        point = np.asarray(xy, np.float64).reshape(2)
        if (map_ := self._map_on()) is not None:
            index = map_.nearest_index(point)
            self._map_point = map_.embedding[index].astype(np.float64)
            return map_.nearest_code(point)
        if (pca := self._pca_on()) is not None:
            return pca.from_plane(point)[0]
        return None

    def codes_at(self, points: np.ndarray) -> np.ndarray:
        """Codes [N, d] that the plane's points [N, 2] stand for (the latent grid on this
        plane): exact on the PCA plane, the nearest test point's code on a map."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if (map_ := self._map_on()) is not None:
            return np.stack([map_.nearest_code(p) for p in pts])
        if (pca := self._pca_on()) is not None:
            return pca.from_plane(pts)
        x, y = self._state.dims
        z = np.zeros((len(pts), self._state.latent_dim), np.float32)
        z[:, x] = pts[:, 0]
        if z.shape[1] > 1:
            z[:, y] = pts[:, 1]
        return z

    @property
    def is_map(self) -> bool:
        """A UMAP / t-SNE map: coordinates without a meaning of their own."""
        return self.map is not None

    def _pca_on(self) -> PCAProjection | None:
        """The PCA plane on show, if it is one of the current model's latent size (a model of
        another size may be current a moment before the plane follows it; until then the
        plane shows the new model's axes)."""
        pca = self.pca if self._kind == "pca" else None
        return pca if pca is not None and pca.mean.shape[0] == self._state.latent_dim else None

    def _map_on(self) -> NeighbourProjection | None:
        """The map on show, if made from latents of the current model's size (as _pca_on)."""
        fits = self.map is not None and self.map.latents.shape[1] == self._state.latent_dim
        return self.map if fits else None

    # --- following the latents -------------------------------------------------------------
    def follow_latent_size(self) -> None:
        """A model of another latent size became current (the state calls this before it
        tells the views): a plane of the old size means nothing. Two dimensions or fewer
        show their axes; a wider model's plane is fitted to its latents."""
        if self._kind == "axes":
            return
        if self._state.latent_dim <= 2:
            self._kind, self.pca, self.map, self._map_point, self.note = "axes", None, None, None, ""
            self.changed.emit()
            return
        self._on_latents_changed()

    def _fit(self) -> PCAProjection | None:
        latents = self._state.latents
        if latents is None:
            self.note = "no test latents to fit a PCA plane to"
            return None
        try:
            return PCAProjection.fit(latents[0])
        except ProjectionError as exc:
            self.note = str(exc)
            return None

    def _on_latents_changed(self) -> None:
        if self._kind == "axes":
            return
        latents = self._state.latents
        if self.map is not None:
            if latents is not None and _same(self.map.latents, latents[0]):
                return
            label = METHOD_LABELS.get(self._kind, self._kind)
            self.map, self._map_point = None, None
            self._kind = "pca"
            self.note = f"the latents changed: back to the PCA plane (compute {label} again to see it)"
        pca = self._fit()
        if pca is None:
            self._kind, self.pca = "axes", None
        else:
            self.pca = pca
        self.changed.emit()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))


def most_informative_dims(latents: tuple[np.ndarray, np.ndarray] | None, dim: int) -> tuple[int, int]:
    """The two dimensions with the largest mean KL(q(z_i|x) || N(0, 1)) over the test images,
    the larger first: a model with a few active units among many (M1+M2's 50) shows them,
    not the first two of a shapeless blob. (0, 1) for two dimensions or without latents.
    (core.active_units.kl_per_dimension's formula, here without torch: the state uses it
    before the window has imported torch.)"""
    if dim < 2:
        return (0, 0)
    if latents is None or dim == 2:
        return (0, 1)
    mu, logvar = (np.asarray(a, np.float64) for a in latents)
    with np.errstate(over="ignore"):
        kl = (0.5 * (np.exp(logvar) + mu * mu - 1.0 - logvar)).mean(axis=0)
    first, second = np.argsort(-kl, kind="stable")[:2]
    return (int(first), int(second))

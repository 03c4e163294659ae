"""The scatter beyond two axes: a "View" choice (two axes, PCA plane, UMAP, t-SNE) in the
scatter's tool row, and what the scatter draws on that plane.

:class:`ScatterPlane` keeps the scatter's points, axis labels and the walk's path on the
state's plane (``state.plane``, see gui/latent_plane.py; the markers are placed by the
view's placing.py) and at the timeline's scrubbed epoch (``state.scrub``). On the two
axes and live it leaves the scatter's own drawing alone. A UMAP / t-SNE map is computed in a Worker with its
progress shown; when the package is missing, its entry says how to install it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QLabel

from ...core.projection import METHOD_LABELS, available_methods, missing_package_message
from ..latent_plane import KIND_LABELS, KINDS
from ..workers import Worker

if TYPE_CHECKING:
    from ..state import ExplorerState
    from .view import LatentScatterView


class StatusLabel(QLabel):
    """A note that is in the tool row only while it says something (an empty one took a
    gap of the row's last line, where the mouse hint goes)."""

    def __init__(self) -> None:
        super().__init__()
        self.setVisible(False)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.setVisible(bool(text))


class ScatterPlane(QObject):
    """Wires the state's plane and scrubbed epoch into a LatentScatterView."""

    def __init__(self, scatter: LatentScatterView, state: ExplorerState) -> None:
        super().__init__(scatter)
        self.scatter = scatter
        self.state = state
        self.combo = QComboBox()
        self.combo.setToolTip(
            "How a latent space of more than two dimensions is shown: two of its axes (the "
            "others at 0), its PCA plane (a click decodes mean + x pc1 + y pc2), or a UMAP / "
            "t-SNE map of the test latents (a click decodes the nearest test image's code)"
        )
        for kind in KINDS:
            self.combo.addItem(KIND_LABELS[kind], kind)
        self.status = StatusLabel()
        self.status.setStyleSheet("color: palette(mid);")
        self.status.setWordWrap(False)
        scatter.bar.add(self.combo)
        scatter.bar.add(self.status)
        self.worker: Worker | None = None
        self._token = 0
        self._closed = False  # the window closed: no new map starts
        self.combo.activated.connect(self._on_combo_activated)
        state.plane.changed.connect(self._on_plane_changed)
        state.modelChanged.connect(self._offer_kinds)
        state.latentsChanged.connect(self.refresh)
        state.dimsChanged.connect(self.refresh)
        state.scrub.epochChanged.connect(self.refresh)
        self._offer_kinds()

    # --- choosing the plane ----------------------------------------------------------------
    def choose(self, kind: str) -> None:
        """What choosing ``kind`` in the combo does (maps are computed in the background)."""
        plane = self.state.plane
        if kind in ("axes", "pca"):
            if not plane.set_kind(kind):
                self.status.setText(plane.note)
                self._sync_combo()
            return
        self._compute_map(kind)

    def _offer_kinds(self) -> None:
        model = self.combo.model()
        wide = self.state.latent_dim > 2
        found = available_methods()
        if isinstance(model, QStandardItemModel):
            for row, kind in enumerate(KINDS):
                item = model.item(row)
                if item is None:
                    continue
                usable = kind == "axes" or (wide and (kind == "pca" or kind in found))
                item.setEnabled(usable)
                if kind in ("umap", "tsne") and kind not in found:
                    item.setText(f"{METHOD_LABELS[kind]} (not installed)")
                    item.setToolTip(missing_package_message(kind))
                elif not wide and kind != "axes":
                    item.setToolTip("for a latent space of more than two dimensions")
        self.combo.setVisible(wide)
        if not wide and not self.state.plane.is_axes:
            self.state.plane.set_kind("axes")
        self._sync_combo()

    def _on_combo_activated(self, index: int) -> None:
        self.choose(str(self.combo.itemData(index)))

    def _compute_map(self, method: str) -> None:
        from ...core.projection import neighbour_projection, weights_hash

        latents, model = self.state.latents, self.state.model
        if self._closed:
            return
        if latents is None or model is None:
            self.status.setText("no test latents to map")
            self._sync_combo()
            return
        self._token += 1
        token = self._token
        label = METHOD_LABELS[method]
        self.status.setText(f"{label}: starting…")
        holder: dict[str, Worker] = {}

        def progress(fraction: float, text: str) -> None:
            holder["worker"].report((fraction, text))  # raises once cancelled: no partial map

        worker = Worker(
            neighbour_projection,
            latents[0],
            method,
            weights_hash(model),
            progress=progress,
            name="projection",
        )
        holder["worker"] = worker
        worker.progress.connect(lambda item: self._show_progress(token, *item))
        worker.returned.connect(lambda result: self._on_map_ready(token, result))
        worker.failed.connect(lambda message: self._on_map_failed(token, message))
        worker.finished.connect(lambda: setattr(self, "worker", None) if token == self._token else None)
        self.worker = worker
        worker.start()

    def shutdown(self) -> None:
        """The window closes: a t-SNE map stops at its next progress report (UMAP's and
        scikit-learn's have none: they run to their end, which the process waits for)."""
        self._closed = True
        self._token += 1  # whatever still arrives is out of date
        if self.worker is not None:
            self.worker.cancel()

    def _show_progress(self, token: int, fraction: float, text: str) -> None:
        if token == self._token:
            self.status.setText(f"{text} ({100 * fraction:.0f} %)")

    def _on_map_ready(self, token: int, result: Any) -> None:
        if token != self._token:
            return
        if not self.state.plane.set_map(result):
            self.status.setText(self.state.plane.note)
            self._sync_combo()

    def _on_map_failed(self, token: int, message: str) -> None:
        if token == self._token:
            self.status.setText(message)
            self._sync_combo()

    # --- drawing ---------------------------------------------------------------------------
    def _on_plane_changed(self) -> None:
        self._sync_combo()
        self.status.setText(self.state.plane.note)
        plane = self.state.plane
        s = self.scatter
        s.enable_dim_combos()
        if plane.is_map:
            self.state.set_overlay(False)  # a map's grid is of nearest codes: not laid over it
        s.overlay_check.setEnabled(not plane.is_map)
        self.refresh()
        s.reset_zoom()

    def refresh(self) -> None:
        """Points (scrubbed or live) and crosshair on the plane; labels of its axes."""
        state, s = self.state, self.scatter
        plane, scrubbed = state.plane, state.scrub.latents()
        s.label_axes()
        if plane.is_axes and scrubbed is None:
            s._refresh_points()
        else:
            latents, test = (scrubbed.mu if scrubbed is not None else None), state.test_set
            mu = latents if latents is not None else (state.latents[0] if state.latents is not None else None)
            if mu is None or test is None or len(mu) != len(test):
                s.cloud.clear()
            else:
                xy = plane.points(mu)
                s.cloud.set_data(xy[:, 0], xy[:, 1], test.labels)
        s.placing.place_all()  # every marker at its code's place on this plane, now

    def _sync_combo(self) -> None:
        kind = self.state.plane.kind
        index = self.combo.findData(kind)
        if index >= 0 and index != self.combo.currentIndex():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)

    def plane_path(self, codes: np.ndarray) -> np.ndarray | None:
        """Plane coordinates [n, 2] of a path of codes (None on a map: no inverse there)."""
        plane = self.state.plane
        if plane.map is not None:
            return None
        if plane.is_axes:
            x, y = self.state.dims
            if max(x, y) >= codes.shape[1]:
                return None  # another model's path, met before the walk is cleared
            return np.stack(
                [codes[:, x], codes[:, y] if codes.shape[1] > 1 else np.zeros(len(codes))], axis=1
            )
        return plane.points(codes)

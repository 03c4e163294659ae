"""Where the scatter's markers go on the state's plane (``state.plane``): the crosshair at
the current z, the canvas drawing's star at its posterior mean with its 1 and 2 sigma
ellipses (projected: tilted on the PCA plane; none on a UMAP / t-SNE map, which is no
projection), and the hover card with its point. All are placed from their codes whenever
the plane, the dims or the codes change, never carried over from the plane before."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .view import LatentScatterView


class MarkerPlacing:
    """Places a LatentScatterView's crosshair, canvas marker and hover card."""

    def __init__(self, view: LatentScatterView) -> None:
        self.view = view

    def shown(self, z: np.ndarray | None) -> tuple[float, float] | None:
        """Where code ``z`` is on the plane, or None when it does not fit the current
        model (or, on a map, has no place there)."""
        state = self.view.state
        dim = state.latent_dim
        if z is None or len(z) != dim or max(state.dims) >= dim:
            return None
        return state.plane.point_of(z)

    def place_all(self) -> None:
        """Every marker at its code's place on the plane now on show."""
        self.place_crosshair()
        self.place_posterior()
        self.view.hovering.follow()

    def place_crosshair(self) -> None:
        crosshair = self.view.crosshair
        xy = self.shown(self.view.state.current_z)
        crosshair.setVisible(xy is not None)
        if xy is not None:
            crosshair.setPos(xy[0], xy[1])

    def place_posterior(self) -> None:
        view, state = self.view, self.view.state
        marker, posterior = view.posterior_marker, state.canvas_posterior
        dim = state.latent_dim
        if posterior is None or len(posterior[0]) != dim or max(state.dims) >= dim:
            marker.setVisible(False)
            return
        mean = state.plane.marker_point_of(posterior[0])
        if mean is None:
            marker.setVisible(False)
            return
        pixel_size = view.vb.viewPixelSize()
        if state.plane.is_axes:  # the posterior's own (diagonal) ellipses in the shown dims
            x, y = state.dims
            logvar = np.asarray(posterior[1], np.float64)
            marker.show_posterior(mean, (logvar[x], logvar[y] if dim > 1 else 0.0), pixel_size)
            return
        marker.show_projected(mean, state.plane.covariance_of(posterior[1]), pixel_size)

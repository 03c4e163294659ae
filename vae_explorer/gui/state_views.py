"""The part of :class:`.state.ExplorerState` that decodes for the views: the latent grid's
settings and its decoded pictures (cached once per model and grid, so the grid dock and the
scatter overlay never decode the same grid twice), the scatter's visible range and overlay,
and the decoder on show (the current model, or the weights of a scrubbed-back epoch).

A mixin, so every view keeps calling ``state.set_grid(...)``, ``state.decoded_grid()``, ...
on the one state object; the signals it emits are declared on ExplorerState.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from ..core.grid import DecodedGrid
    from ..core.model import VAE
    from .history_scrub import HistoryScrub
    from .latent_plane import LatentPlane

Range = tuple[tuple[float, float], tuple[float, float]]
GRID_SPACINGS = ("gaussian", "visible")
DEFAULT_GRID_SIZE = 15
GRID_SIZE_RANGE = (5, 30)


class DecodedViews:
    """Grid size and spacing, visible range, overlay, decoded grid, decoder on show."""

    if TYPE_CHECKING:  # ExplorerState's, used here
        _model: VAE | None
        _model_version: int
        _latents: tuple[np.ndarray, np.ndarray] | None
        _dims: tuple[int, int]
        plane: LatentPlane
        scrub: HistoryScrub
        gridChanged: SignalInstance
        visibleRangeChanged: SignalInstance
        overlayChanged: SignalInstance
        decoderChanged: SignalInstance

    def _init_views(self) -> None:
        self._grid_size = DEFAULT_GRID_SIZE
        self._grid_spacing = "gaussian"
        self._visible: Range = ((-3.0, 3.0), (-3.0, 3.0))
        self._overlay = False
        self._spacing_before_overlay = "visible"  # the grid dock's spacing the overlay replaced
        self._grid_cache: dict[tuple[Any, ...], DecodedGrid] = {}
        self._decoder_epoch: int | None = None
        self._shown_class = 0

    @property
    def shown_class(self) -> int:
        """The digit a labelled model's views draw a style z as (decode(z) without y)."""
        return self._shown_class

    def set_shown_class(self, y: int) -> None:
        """Draw styles as digit ``y`` in every view that decodes a code (preview, grid,
        overlay, traversal)."""
        if int(y) != self._shown_class:
            self._shown_class = int(y)
            self.decoderChanged.emit()

    @property
    def grid_size(self) -> int:
        return self._grid_size

    @property
    def grid_spacing(self) -> str:
        """ "gaussian" (prior quantiles) or "visible" (the scatter's visible range)."""
        return self._grid_spacing

    def set_grid(self, size: int | None = None, spacing: str | None = None) -> None:
        """Grid size (clamped to GRID_SIZE_RANGE) and spacing. The overlay shows the grid of
        the visible range, so choosing Gaussian spacing turns the overlay off."""
        lo, hi = GRID_SIZE_RANGE
        size = self._grid_size if size is None else int(min(max(size, lo), hi))
        spacing = self._grid_spacing if spacing not in GRID_SPACINGS else spacing
        if (size, spacing) != (self._grid_size, self._grid_spacing):
            self._grid_size, self._grid_spacing = size, spacing
            self.gridChanged.emit()
            if spacing != "visible":
                self.set_overlay(False)

    @property
    def visible_range(self) -> Range:
        return self._visible

    def set_visible_range(self, xr: tuple[float, float], yr: tuple[float, float]) -> None:
        visible = ((float(xr[0]), float(xr[1])), (float(yr[0]), float(yr[1])))
        if visible != self._visible and all(np.isfinite(v) for r in visible for v in r):
            self._visible = visible
            self.visibleRangeChanged.emit()

    @property
    def overlay(self) -> bool:
        """Whether the decoded grid is tiled over the scatter."""
        return self._overlay

    def set_overlay(self, on: bool) -> None:
        """Tile the decoded grid over the scatter. The grid dock then shows the same grid
        (visible-range spacing), so both show the same digits and a picked tile is the
        same tile in both; turned off, the dock goes back to the spacing it had."""
        if bool(on) != self._overlay:
            self._overlay = bool(on)
            self.overlayChanged.emit(self._overlay)
            if on:
                self._spacing_before_overlay = self._grid_spacing
                self.set_grid(spacing="visible")
            elif self._grid_spacing == "visible":  # back to the dock's own choice
                self.set_grid(spacing=self._spacing_before_overlay)

    def decoded_grid(self, spacing: str | None = None) -> DecodedGrid | None:
        """The grid of ``spacing`` (default: the grid dock's) decoded by the current model;
        computed once per model, dims, size and (for "visible") range."""
        model = self.decoder_model
        if model is None:
            return None
        spacing = spacing or self._grid_spacing
        if self.plane.is_map:  # a map's units mean nothing: its grid covers what is in view
            spacing = "visible"
        n = self._grid_size
        visible = self._visible if spacing == "visible" else None
        plane = (self.plane.kind, self.plane.version)
        drawn = (self._model_version, self._decoder_epoch, self._shown_class)
        key = (*drawn, self._dims, n, spacing, visible, plane)
        cached = self._grid_cache.get(key)
        if cached is not None:
            return cached
        from ..core.grid import decode_grid

        codes = None if self.plane.is_axes else self.plane.codes_at
        grid = decode_grid(model, n, spacing, self._dims, self._visible, codes)
        if len(self._grid_cache) > 8:
            self._grid_cache.clear()
        self._grid_cache[key] = grid
        return grid

    def decode(self, z: Any) -> np.ndarray | None:
        """Mean images [B, 28, 28] of codes ``z`` [B, latent_dim] under the decoder on show
        (:attr:`decoder_model`)."""
        model = self.decoder_model
        if model is None:
            return None
        from ..core.latent import decode_latents

        return decode_latents(model, z)

    @property
    def decoder_model(self) -> VAE | None:
        """The model that decodes for the views: the current one, or while the timeline is
        scrubbed back, the one with the weights kept at or before the scrubbed epoch."""
        model = self._model
        if self._decoder_epoch is not None:
            past = self.scrub.model()
            if past is not None:
                model = past
        if hasattr(model, "shown_class"):  # a labelled model (gui/labelled.py; no torch import here)
            setattr(model, "shown_class", self._shown_class)  # noqa: B010 - VAE has no such field
        return model

    @property
    def shown_latents(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The test set's (mu, logvar) where the scatter draws them: the scrubbed epoch's
        while the timeline is scrubbed back, else the current model's. A view that pairs a
        test image with its code (its reconstruction, a walk's end) reads these, so that the
        code is the point clicked and the decoder on show is of the same epoch."""
        scrubbed = self.scrub.latents()
        if scrubbed is not None:
            return scrubbed.mu, scrubbed.logvar
        return self._latents

    def _on_scrubbed(self) -> None:
        epoch = self.scrub.weights_epoch() if self.scrub.scrubbing else None
        if epoch != self._decoder_epoch:
            self._decoder_epoch = epoch
            self.decoderChanged.emit()

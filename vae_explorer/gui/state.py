"""ExplorerState: the one place for the app's state; views subscribe to its signals.

Every view takes the state in its constructor, reads what it shows from it, and changes it
only through its setters. The state keeps its parts consistent with each other: the
latents always belong to the current model AND the current test set (a new model or a new
dataset re-encodes, or takes latents handed over with it), the current z always has the
model's latent dimension, the shown dims always fit it, a picked test index always points
into the current test set. So no view can show a value left over from an earlier state.

Derived pictures that several views show (the decoded latent grid) are computed once per
(model, grid) and cached, so the grid dock and the scatter overlay never decode the same
grid twice: that part of the state, with the scatter's view and the decoder on show, is in
:mod:`.state_views` (a mixin of ExplorerState).

Start-up has a "model loading" phase (:meth:`ExplorerState.begin_model_loading`): the
model's file, metadata and cached test latents are known but the network is still being
built in the background. Then ``model`` is None, ``loading`` is True, ``latent_dim`` comes
from the file's config, and the latents (if any) are the ones cached in that file for the
current test set, so the invariant above holds with "the model being loaded" in place of
"the current model". This module imports torch only when it computes (encode, decode), so
the window can paint those latents before torch is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.data import Dataset
from ..core.first_screen import usable_latents
from ..core.image import IMAGE_PIXELS
from ..core.rendering import latent_plane
from .history_scrub import HistoryScrub
from .latent_plane import LatentPlane, most_informative_dims
from .state_views import DEFAULT_GRID_SIZE, GRID_SIZE_RANGE, GRID_SPACINGS, DecodedViews, Range

if TYPE_CHECKING:
    from ..core.model import VAE

__all__ = ["DEFAULT_GRID_SIZE", "GRID_SIZE_RANGE", "GRID_SPACINGS", "ExplorerState", "Range"]


class ExplorerState(QObject, DecodedViews):
    """Model, data, latents, view parameters and training status of one window (the
    decoded grid, the scatter's view and the decoder on show: :class:`DecodedViews`)."""

    modelChanged = Signal()  # the model, its metadata or its file changed
    datasetChanged = Signal()
    latentsChanged = Signal()
    dimsChanged = Signal()
    currentZChanged = Signal()
    pickedIndexChanged = Signal()
    canvasPosteriorChanged = Signal()
    canvasImageChanged = Signal()  # the canvas drawing's pixels (the posterior view's source)
    gridChanged = Signal()  # grid size or spacing
    visibleRangeChanged = Signal()
    overlayChanged = Signal(bool)
    historyChanged = Signal()
    trainingChanged = Signal(bool)
    modifiedChanged = Signal(bool)  # the current model differs from its file (or has none)
    loadingChanged = Signal(bool)  # a model is being built in the background (start-up)
    # The decoder on show changed without a new model: the timeline moved to (or away from)
    # an epoch whose weights were kept. Views that decode redraw on it.
    decoderChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model: VAE | None = None
        self._model_version = 0
        self._loading_dim: int | None = None  # latent size of the model being loaded
        self._meta: dict[str, Any] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._path: Any = None
        self._modified = False
        self._live = False
        self._dataset_key = "mnist"
        self._test_set: Dataset | None = None
        self._latents: tuple[np.ndarray, np.ndarray] | None = None
        self._dims = (0, 1)
        self._dims_chosen = False  # the user picked the axes (set_dims) for the current model
        self._current_z: np.ndarray | None = None
        self._picked: int | None = None
        self._posterior: tuple[np.ndarray, np.ndarray] | None = None
        self._canvas_image: np.ndarray | None = None
        self._history: list[dict[str, Any]] = []
        self._training = False
        self._init_views()
        # The training history and the epoch the timeline shows (None: live); it reads the
        # history from the model's arrays, so it follows every new model and snapshot.
        self.scrub = HistoryScrub(self)
        # The plane the scatter shows (two axes, PCA, a UMAP / t-SNE map): latent_plane.py.
        self.plane = LatentPlane(self)
        self.plane.changed.connect(self.gridChanged)  # the grid lies on the plane
        self.scrub.epochChanged.connect(self._on_scrubbed)

    # --- model -----------------------------------------------------------------------------
    @property
    def model(self) -> VAE | None:
        """The GUI's own CPU copy of the current model (never the one being trained)."""
        return self._model

    @property
    def model_version(self) -> int:
        """Grows by one with every new model or snapshot: a cache key for derived pictures."""
        return self._model_version

    @property
    def model_meta(self) -> dict[str, Any]:
        return self._meta

    @property
    def model_path(self) -> Any:
        return self._path

    @property
    def model_arrays(self) -> dict[str, np.ndarray]:
        """Named arrays that came with the current model's weights (cached test latents,
        first-screen pictures); a save writes them back beside the weights."""
        return self._arrays

    @property
    def live(self) -> bool:
        """True while the current model is a snapshot of a run still in progress."""
        return self._live

    @property
    def modified(self) -> bool:
        return self._modified

    @property
    def loading(self) -> bool:
        """True while the model of ``model_path`` is being built (``model`` is None then)."""
        return self._loading_dim is not None

    @property
    def latent_dim(self) -> int:
        if self._model is not None:
            return self._model.latent_dim
        return self._loading_dim if self._loading_dim is not None else 2

    def begin_model_loading(
        self,
        latent_dim: int,
        meta: dict[str, Any] | None = None,
        path: Any = None,
        latents: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """The model saved in ``path`` (``latent_dim`` wide) is being built in the background.

        Until :meth:`set_model` delivers it, the state shows the file's metadata and its
        cached test ``latents`` (kept only if they fit the current test set: else None,
        since nothing can encode without the model). Only valid before the first model.
        """
        if self._model is not None:
            raise RuntimeError("begin_model_loading is for the first model; use set_model")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
        self._loading_dim = int(latent_dim)
        self._meta = dict(meta) if meta is not None else {}
        self._path = path
        self._latents = self._fitting_latents(latents, self._loading_dim)
        # (0, 1) until the model comes: the cached grid on show was decoded on those.
        self._fit_to_latent_dim(self._loading_dim, informative=False)
        self.loadingChanged.emit(True)
        self.modelChanged.emit()
        self.latentsChanged.emit()
        if self._current_z is None:
            self.set_current_z(np.zeros(self._loading_dim, np.float32))

    def _end_loading(self) -> None:
        if self._loading_dim is not None:
            self._loading_dim = None
            self.loadingChanged.emit(False)

    def set_model(
        self,
        model: VAE,
        meta: dict[str, Any] | None = None,
        path: Any = None,
        latents: tuple[np.ndarray, np.ndarray] | None = None,
        live: bool = False,
        modified: bool | None = None,
        arrays: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Make ``model`` current (the state owns it from now on).

        ``latents`` (test mu, logvar) computed elsewhere are used when they match the test
        set; otherwise the test set is encoded here. ``live``: a snapshot of a running
        training (views that are costly to refresh may do it less often). ``arrays``: named
        arrays that belong with these weights (a checkpoint's, a snapshot's), saved with them.
        """
        model.eval()
        old_dim = self.latent_dim if self._model is not None or self.loading else None
        was_loading = self.loading
        self._model = model
        self._model_version += 1
        self._grid_cache.clear()
        self._meta = dict(meta) if meta is not None else {}
        self._arrays = dict(arrays) if arrays else {}
        self._path = path
        self._live = live
        self._set_modified(path is None if modified is None else modified)
        dim = model.latent_dim
        self._latents = self._matching_latents(latents)
        if not live and not self._training:
            self._dims_chosen = False  # a model opened: its own axes, not those picked for the last
        if old_dim != dim or was_loading:
            self.scrub.leave_for_another_model()
            self._fit_to_latent_dim(dim)
        elif not live and not self._dims_chosen:
            # A model opened, or the one a run ends with: its most informative axes (a run's
            # were read off its untrained weights at its start), unless the user chose some.
            self._show_dims(most_informative_dims(self._latents, dim))
        self._end_loading()
        self.modelChanged.emit()
        self.latentsChanged.emit()
        if self._current_z is None:
            self.set_current_z(np.zeros(dim, np.float32))

    def mark_saved(self, path: Any, meta: dict[str, Any] | None = None) -> None:
        """The current model now lives in ``path``."""
        self._path = path
        if meta is not None:
            self._meta = dict(meta)
        self._set_modified(False)
        self.modelChanged.emit()

    def _set_modified(self, modified: bool) -> None:
        if modified != self._modified:
            self._modified = modified
            self.modifiedChanged.emit(modified)

    def _fit_to_latent_dim(self, dim: int, informative: bool = True) -> None:
        """A model of another latent size: its two most informative dimensions on the axes
        (read off the test latents when there are any), no stale z or posterior."""
        self._dims_chosen = False
        self._show_dims(most_informative_dims(self._latents if informative else None, dim))
        if self._current_z is not None and len(self._current_z) != dim:
            self._current_z = None  # set_model puts a fresh origin in its place
        if self._posterior is not None and len(self._posterior[0]) != dim:
            self._posterior = None
            self.canvasPosteriorChanged.emit()
        self.plane.follow_latent_size()  # (until it has, the plane shows the new dims)

    def _fitting_latents(
        self, latents: tuple[np.ndarray, np.ndarray] | None, dim: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """``latents`` as float32 if they have one finite row per test image and ``dim``
        columns; else None."""
        test = self._test_set
        fitting = None if test is None or latents is None else usable_latents(*latents, dim)
        return fitting if fitting is not None and test is not None and len(fitting[0]) == len(test) else None

    def _matching_latents(
        self, latents: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        test, model = self._test_set, self._model
        if test is None or model is None:
            return None
        fitting = self._fitting_latents(latents, model.latent_dim)
        if fitting is not None:
            return fitting
        from ..core.latent import encode_images

        return encode_images(model, test.images)

    # --- data ------------------------------------------------------------------------------
    @property
    def dataset_key(self) -> str:
        """ "mnist", "fashion-mnist" or the folder of IDX files on show."""
        return self._dataset_key

    @property
    def test_set(self) -> Dataset | None:
        return self._test_set

    @property
    def latents(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Test-set (mu, logvar) [N, latent_dim] of the current model, or None."""
        return self._latents

    def set_dataset(self, key: str, test_set: Dataset) -> None:
        """Show ``test_set`` (the test split of dataset ``key``); re-encodes it."""
        self._dataset_key = key
        self._test_set = test_set
        self._latents = self._matching_latents(None)
        self._picked = None
        self.datasetChanged.emit()
        self.latentsChanged.emit()
        self.pickedIndexChanged.emit()

    # --- what is shown ---------------------------------------------------------------------
    @property
    def dims(self) -> tuple[int, int]:
        """The two latent dimensions on the scatter's x and y axes."""
        return self._dims

    def set_dims(self, x: int, y: int) -> None:
        """The user's choice of axes: kept for this model (and through a run) until another
        model is opened."""
        dim = self.latent_dim
        if not (0 <= x < dim and 0 <= y < dim):
            return
        self._dims_chosen = True
        self._show_dims((x, y))

    def _show_dims(self, dims: tuple[int, int]) -> None:
        if dims != self._dims:
            self._dims = dims
            self.dimsChanged.emit()

    @property
    def current_z(self) -> np.ndarray | None:
        """The full latent code being decoded (the crosshair), [latent_dim] float32."""
        return self._current_z

    def set_current_z(self, z: Any) -> None:
        z = np.array(z, np.float32).reshape(-1)
        if len(z) != self.latent_dim or not np.all(np.isfinite(z)):
            return
        self._current_z = z
        self.currentZChanged.emit()

    def set_current_z_from_plane(self, xy: Any) -> None:
        """A code from a point of the scatter: on the two axes, the shown dims from ``xy``
        and the others 0; on another plane, the code that point stands for (``plane``)."""
        xy = np.asarray(xy, np.float64).reshape(-1)
        code = self.plane.code_at(xy) if not self.plane.is_axes else None
        if code is not None:
            self.set_current_z(code)
            return
        self.set_current_z(latent_plane(xy.tolist(), self.latent_dim, self._dims))

    @property
    def picked_index(self) -> int | None:
        """The test image picked on the scatter, or None."""
        return self._picked

    def set_picked_index(self, index: int | None) -> None:
        test = self._test_set
        if index is not None and (test is None or not 0 <= index < len(test)):
            index = None
        if index != self._picked:
            self._picked = index
            self.pickedIndexChanged.emit()

    @property
    def canvas_posterior(self) -> tuple[np.ndarray, np.ndarray] | None:
        """q(z|x) of the canvas drawing: (mu, logvar) [latent_dim], or None (nothing drawn)."""
        return self._posterior

    def set_canvas_posterior(self, mu: Any, logvar: Any) -> None:
        if mu is None or logvar is None:
            posterior = None
        else:
            m = np.array(mu, np.float32).reshape(-1)
            lv = np.array(logvar, np.float32).reshape(-1)
            posterior = (m, lv) if len(m) == len(lv) == self.latent_dim else None
        if posterior is None and self._posterior is None:
            return
        self._posterior = posterior
        self.canvasPosteriorChanged.emit()

    @property
    def canvas_image(self) -> np.ndarray | None:
        """The canvas drawing as the model sees it (missing pixels as 0): float32 [784] in
        [0, 1], or None (nothing drawn). The posterior view computes from it."""
        return self._canvas_image

    def set_canvas_image(self, image: Any) -> None:
        """``image``: [784] or [28, 28], uint8 0-255 or float in [0, 1]; None clears it.
        Raises ValueError (naming the shape or the bad values) for anything else."""
        if image is None:
            new = None
        else:
            a = np.asarray(image)
            if a.size != IMAGE_PIXELS:
                raise ValueError(f"canvas image must have {IMAGE_PIXELS} pixels, got shape {a.shape}")
            new = (a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)).reshape(-1)
            if not np.all(np.isfinite(new)) or new.min() < 0.0 or new.max() > 1.0:
                raise ValueError("canvas image pixels must be finite and in [0, 1]")
        old = self._canvas_image
        if not (new is old or (new is not None and old is not None and np.array_equal(new, old))):
            self._canvas_image = new
            self.canvasImageChanged.emit()

    # --- training --------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """A training run is in progress (its snapshots become the current model)."""
        return self._training

    def set_training(self, running: bool) -> None:
        if bool(running) != self._training:
            self._training = bool(running)
            if not running:
                self._live = False
            self.trainingChanged.emit(self._training)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Per-epoch records of the current model's training (may be empty)."""
        return self._history

    def set_history(self, history: list[dict[str, Any]]) -> None:
        self._history = list(history)
        self.historyChanged.emit()

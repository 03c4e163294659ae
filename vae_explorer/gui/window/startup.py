"""Start-up in two steps: paint from the checkpoint's cache, then build the model behind it.

Step one (GUI thread, no torch): read the checkpoint's metadata and cached arrays with
numpy (:func:`read_first_screen`), put the test set and the cached latents in the state
(its "model loading" phase) and paint them. Step two (:class:`BackgroundStart`, a thread
started after that first paint): import torch and the views' modules, warm the optimizer up,
load the checkpoint; the window then builds its real views and makes the model current.

A plain thread, not a ``workers.Worker``: gui/workers.py imports torch (through the core
error types it names), which is what this step has to move off the first paint.
"""

from __future__ import annotations

import importlib
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QByteArray, QObject, QTimer, Signal

from ...core.checkpoint_file import CheckpointError, read_arrays
from ...core.data import CUSTOM_DATASET, DATASETS, DatasetRef, usable_dataset_key
from ...core.first_screen import PALETTE_ARRAY, usable_first_screen, usable_latents
from . import settings
from .datasets import DEFAULT_CHECKPOINT
from .first_screen import LOADING_TEXT, FirstScatter, LoadingPanel

if TYPE_CHECKING:
    from .main_window import MainWindow

LATENT_ARRAYS = ("test_mu", "test_logvar")
# Everything the real window imports that pulls torch in; imported by the background step.
VIEW_MODULES = (
    "torch",
    "vae_explorer.core.training",
    "vae_explorer.gui.window.views",
    "vae_explorer.gui.workers",
)


@dataclass
class FirstScreen:
    """What a checkpoint's file says before its model exists."""

    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    latent_dim: int | None = None  # None: the config is unreadable (the load will say why)

    @property
    def dataset(self) -> str | None:
        ds = self.metadata.get("dataset")
        return ds if isinstance(ds, str) else None

    def latents_for(self, dataset_key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The cached test latents, if they belong to dataset ``dataset_key``'s test split."""
        return cached_latents(self.arrays, self.metadata, dataset_key)


def cached_latents(
    arrays: dict[str, np.ndarray], metadata: dict[str, Any], dataset_key: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """A checkpoint's cached (test_mu, test_logvar) when it was saved for the test split of
    the dataset now shown and they are finite [N, d] pairs (the state still checks that
    they fit its test set and model)."""
    latents = usable_latents(arrays.get("test_mu"), arrays.get("test_logvar"))
    if latents is None:
        return None
    try:
        shown = DatasetRef.from_key(dataset_key).metadata_name
    except Exception:  # a folder that vanished: no cache can be trusted for it
        return None
    if metadata.get("dataset") != shown:
        return None
    return latents


def read_first_screen(path: Path) -> FirstScreen:
    """The metadata and arrays of ``path`` (torch-free); empty when the file is unreadable
    (the background load then reports the error, as opening always has). Cached arrays
    that are unusable (non-finite, out of range, misshapen) are left out, as if absent."""
    try:
        metadata, arrays = read_arrays(path)
    except (CheckpointError, OSError, MemoryError):
        return FirstScreen(path)
    config = metadata.get("config")
    dim = config.get("latent_dim") if isinstance(config, dict) else None
    ok = isinstance(dim, int) and not isinstance(dim, bool) and 1 <= dim <= 4096
    latent_dim = dim if ok else None
    return FirstScreen(path, metadata, usable_first_screen(arrays, latent_dim), latent_dim)


@dataclass
class StartResult:
    """What the background step delivers: the loaded checkpoint, or why not."""

    checkpoint: Any = None  # a core.checkpoints.Checkpoint
    error: str = ""  # the checkpoint could not be opened (the window still works)
    fatal: str = ""  # the views could not be imported (torch missing or broken)
    seconds: float = 0.0


class BackgroundStart(QObject):
    """Runs step two in its own thread; ``ready`` (a StartResult) arrives on the GUI thread."""

    ready = Signal(object)

    def __init__(self, path: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vae-start", daemon=False)
            self._thread.start()

    def wait(self, timeout_s: float) -> bool:
        """Block until the step has finished (True) or ``timeout_s`` passed (False)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def _run(self) -> None:
        t0 = time.perf_counter()
        result = StartResult()
        try:
            for name in VIEW_MODULES:
                importlib.import_module(name)
            from .training_controller import prepare_runtime

            prepare_runtime()
        except BaseException as exc:  # noqa: BLE001 - reported to the user, not raised in a thread
            traceback.print_exc()
            result.fatal = f"{type(exc).__name__}: {exc}"
        if not result.fatal and self.path is not None:
            result.checkpoint, result.error = _load(self.path)
        result.seconds = time.perf_counter() - t0
        try:
            self.ready.emit(result)
        except RuntimeError:
            pass  # the window was closed and deleted meanwhile: nothing to deliver to


def _load(path: Path) -> tuple[Any, str]:
    from ...core.checkpoints import load_checkpoint

    try:
        return load_checkpoint(path), ""
    except CheckpointError as exc:
        return None, str(exc)
    except MemoryError:
        return None, "out of memory"
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"


def show_first_screen(window: MainWindow, path: Path) -> None:
    """Step one: the saved layout, the test set, the cached latents and pictures of ``path``
    in the state's model-loading phase, and menus that say the model is loading."""
    first = read_first_screen(path)
    _restore_layout(window)
    settings.fit_to_screen(window)
    for title in ("&File", "&Dataset", "&View", "&Help"):  # the real menus replace these
        window.menuBar().addMenu(title).addAction(LOADING_TEXT).setEnabled(False)
    # Only a registered dataset, as File > Open takes it: a checkpoint records "custom" for
    # a folder of IDX files (never the folder), and any other text is no folder to read.
    # The remembered dataset, then MNIST, when that one cannot be shown.
    wanted = first.dataset if first.dataset in DATASETS else window.dataset_key_at_start
    shown = window.set_dataset(wanted)
    for key in (window.dataset_key_at_start, "mnist"):
        if shown or window.state.test_set is not None:
            break
        if key != wanted:
            shown = window.set_dataset(key)
    state = window.state
    if first.latent_dim is not None and state.test_set is not None:
        latents = first.latents_for(state.dataset_key)
        state.begin_model_loading(first.latent_dim, first.metadata, first.path, latents)
    arrays = first.arrays
    window.first_scatter = FirstScatter(state, arrays.get(PALETTE_ARRAY))
    window.setCentralWidget(window.first_scatter)
    window.preview_dock.setWidget(LoadingPanel(image=arrays.get("first_screen/preview"), side=168))
    window.grid_dock.setWidget(LoadingPanel(image=arrays.get("first_screen/grid"), side=420))
    window.statusBar().showMessage(LOADING_TEXT)


def _restore_layout(window: MainWindow) -> None:
    """The saved geometry, dock layout and dataset (settings.restore does the rest once the
    views exist)."""
    saved = window.settings
    geometry, layout = saved.value("window/geometry"), saved.value("window/state")
    if not isinstance(geometry, (QByteArray, bytes)) or not window.restoreGeometry(geometry):
        window.resize(1400, 900)
    if isinstance(layout, (QByteArray, bytes)):
        window.restoreState(layout)
    key = saved.value("dataset")
    # Never raises: a folder that became unreadable (EACCES), a name too long, an I/O
    # error... are not used (settings.restore drops them with a log line).
    if usable_dataset_key(key):
        window.dataset_key_at_start = key


def first_checkpoint(window: MainWindow, path: str | Path | None, load_default: bool) -> Path | None:
    """The model to start on: the one asked for, else the one the last session opened or
    saved (while it is a readable file), else the shipped default."""
    if path is not None:
        return Path(path)
    if not load_default:
        return None
    remembered = settings.remembered_model(window.settings)
    if remembered is not None:
        return remembered
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


def instead_of_remembered(window: MainWindow, path: Path | None) -> None:
    """The remembered model ``path`` could not be shown (its error was told): forgotten,
    so the next start does not try it again, and the shipped model opened in its place."""
    if path is None or settings.remembered_model(window.settings) != path or window.state.model is not None:
        return
    settings.remember_model(window.settings, None)
    if DEFAULT_CHECKPOINT.is_file() and path != DEFAULT_CHECKPOINT:
        window.open_model(DEFAULT_CHECKPOINT)


def finish_start(window: MainWindow, result: StartResult) -> None:
    """Step two, on the GUI thread: the real views in place of the first screen (keeping
    the layout as the user left it meanwhile), then the loaded model made current."""
    from .docks import default_dock_sizes
    from .views import build_views

    layout, geometry = window.saveState(), window.saveGeometry()
    first_start = window.settings.value("window/state") is None
    window.menuBar().clear()
    build_views(window)
    settings.restore(window, window.settings)
    window.restoreGeometry(geometry)
    window.restoreState(layout)

    # Once laid out, the views' size hints would widen the docks: the layout again.
    def relayout() -> None:
        window.restoreState(layout)
        if first_start:  # the default sizes for the real views' minimums (a labelled
            default_dock_sizes(window)  # model's wider docks took the right column's room)
        window.after_layout_change()

    QTimer.singleShot(0, window, relayout)  # (dropped with the window)
    window.statusBar().clearMessage()
    path = window.starter.path if window.starter is not None else None
    if result.checkpoint is not None and path is not None:
        window.files.show_checkpoint(result.checkpoint, path)
    elif result.error:
        window.files.on_model_load_failed(result.error)
    instead_of_remembered(window, path)


def folder_hint(metadata: dict[str, Any], shown_key: str) -> str | None:
    """What to say when a model's recorded dataset is not a registered one (a folder of IDX
    files records "custom", not the folder) and no folder is on show: None otherwise."""
    trained_on = metadata.get("dataset")
    if trained_on is None or (isinstance(trained_on, str) and trained_on in DATASETS):
        return None
    try:
        ref = DatasetRef.from_key(shown_key)
    except Exception:  # noqa: BLE001 - a key that is no dataset: say it all the same
        shown = "other data"
    else:
        if ref.root is not None:
            return None  # a folder is on show: maybe that very one
        shown = ref.title
    where = (
        "a folder of IDX files"
        if trained_on == CUSTOM_DATASET
        else f"{str(trained_on)[:40]!r}, not a dataset this app knows (a folder of IDX files?)"
    )
    return (
        f"it was trained on {where}; {shown} shown meanwhile: choose that folder with "
        "Dataset ▸ Open folder of IDX files…"
    )

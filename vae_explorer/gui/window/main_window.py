"""The explorer's main window: the latent scatter in the centre, docks around it.

The window holds no app state: that is the ExplorerState (``window.state``), which every
view subscribes to. The window builds the docks, menus and status bar, and does what
involves the user's files and the outside world: opening and saving models, choosing and
downloading datasets, exports, starting and stopping training, closing cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
)

from ...core.data.registry import cannot_train_on
from ..state import ExplorerState
from ..theme import app_settings, configure_pyqtgraph
from ..tooltips import wrap_long_tooltips
from ..wheel_guard import install_wheel_guard
from . import settings
from .at_exit import free_at_exit
from .datasets import Datasets, ask_open_matching
from .docks import DOCK_ATTRIBUTES, build_docks, default_dock_sizes
from .ending import dismiss_questions, keep_work_for_signal, stop_jobs
from .files import Files
from .first_screen import FirstScatter, log_startup
from .focus_chain import move_focus
from .recovery import RecoveryCopy, ask_recover, offer_left_behind
from .startup import (
    BackgroundStart,
    StartResult,
    finish_start,
    first_checkpoint,
    instead_of_remembered,
    show_first_screen,
)
from .status_bar import build_status_bar, show_current_model
from .tab_bars import LayoutTidying
from .unsaved import QUITTING, ask_unsaved, may_drop_model

if TYPE_CHECKING:  # the views import torch: the window builds them after its first paint
    from ...core.training import TrainingJob
    from ..canvas import CanvasPanel
    from ..panels import DecoderPreview, LatentGridPanel, SamplesPanel, TrainingPanel
    from ..panels.active_units import ActiveUnitsPanel
    from ..panels.analogy import AnalogyPanel
    from ..panels.posterior import PosteriorPanel
    from ..panels.timeline import TimelinePanel
    from ..panels.traversal import TraversalPanel
    from ..panels.walk import WalkPanel
    from ..scatter import LatentScatterView
    from ..scatter.projection import ScatterPlane
    from .actions import WindowMenus
    from .animation_export import AnimationExporter
    from .downloads import DatasetDownloader
    from .training_controller import TrainingController

# The recovery question waits for the first layout to settle: shown at once, an X server
# showed the dock tab bars' earlier positions under it until it was answered.
RECOVERY_OFFER_MS = 300
CLOSE_WAIT_MS = 3000
START_FALLBACK_MS = 1500  # start building the model even if the first paint never comes


class MainWindow(QMainWindow):
    """VAE Explorer's window. Public methods taking paths bypass the file dialogs.

    ``MainWindow(path)`` builds everything before it returns (scripts, tests). With
    ``background=True`` (the app) it paints the checkpoint's cached latents at once and
    builds the model and the views that need it in the background (see startup.py);
    ``views_ready`` is False until then and ``viewsReady`` is emitted when they are.
    """

    viewsReady = Signal()

    scatter: LatentScatterView
    training: TrainingPanel
    preview: DecoderPreview
    grid: LatentGridPanel
    samples: SamplesPanel
    canvas: CanvasPanel
    posterior: PosteriorPanel
    timeline: TimelinePanel
    walk: WalkPanel
    traversal: TraversalPanel
    active_units: ActiveUnitsPanel
    analogy: AnalogyPanel
    animation_exporter: AnimationExporter
    epoch_lines: list[Any]  # the scrubbed epoch, marked on the curves
    walk_path_item: Any  # the walk's path on the scatter
    scatter_plane: ScatterPlane  # the scatter's plane and scrubbed epoch
    trainer: TrainingController
    downloader: DatasetDownloader
    menus: WindowMenus
    first_scatter: FirstScatter
    model_label: QLabel  # the status bar's (status_bar.py)
    dataset_label: QLabel
    device_label: QLabel
    epoch_label: QLabel
    status_room: QObject  # shrinks the model and data labels while a message shows
    # The docks (docks.build_docks)
    training_dock: QDockWidget
    preview_dock: QDockWidget
    grid_dock: QDockWidget
    samples_dock: QDockWidget
    canvas_dock: QDockWidget
    posterior_dock: QDockWidget
    analogy_dock: QDockWidget
    timeline_dock: QDockWidget
    walk_dock: QDockWidget
    traversal_dock: QDockWidget
    active_units_dock: QDockWidget

    def __init__(
        self,
        checkpoint_path: str | Path | None = None,
        load_default: bool = True,
        background: bool = False,
        fallback: bool = True,
    ) -> None:
        super().__init__()
        configure_pyqtgraph()
        install_wheel_guard(cast(QApplication, QApplication.instance()))
        self.setWindowTitle("VAE Explorer")
        self.settings = app_settings()
        self.last_error: str | None = None
        self._error_boxes: dict[tuple[str, str], QMessageBox] = {}  # open, by title and text
        self.dataset_key_at_start = "mnist"
        self._closing = False
        self._closed = False
        self._workers_waited = False
        self.views_ready = False
        self.starter: BackgroundStart | None = None
        self.state = ExplorerState(self)
        free_at_exit(self)  # (if still there when the interpreter exits: at_exit.py)
        self.datasets = Datasets(self)
        self.files = Files(self)
        self._layout_tidying = LayoutTidying(self)
        self._default_layout = build_docks(self)
        build_status_bar(self)
        self.state.modelChanged.connect(lambda: show_current_model(self))
        self.state.modelChanged.connect(self.datasets.show_current)  # (model and data may differ)
        self.state.datasetChanged.connect(self.datasets.show_current)
        first = first_checkpoint(self, checkpoint_path, load_default)
        if background and first is not None:
            self._start_in_background(first)
            return
        from .training_controller import prepare_runtime
        from .views import build_views

        prepare_runtime()
        build_views(self)
        settings.restore(self, self.settings)
        settings.fit_to_screen(self)
        if fallback or checkpoint_path is not None or load_default:
            if first is not None and not self.open_model(first):
                instead_of_remembered(self, first)
            self._fall_back_to_untrained()
        self._views_built()

    def _fall_back_to_untrained(self) -> None:
        if self.state.model is not None:
            return
        import torch

        from ...core.model import VAE, VAEConfig

        if self.state.test_set is None:
            self.set_dataset(self.dataset_key_at_start)
        torch.manual_seed(0)
        self.state.set_model(VAE(VAEConfig()), {}, None, modified=False)
        self.statusBar().showMessage(
            "No trained model found: showing an untrained one. Train one in the Training "
            "panel, or File ▸ Open model.",
            15000,
        )

    # --- start-up in the background (startup.py) -------------------------------------------
    def _start_in_background(self, path: Path) -> None:
        """Paint ``path``'s cached first screen now; build the model once that is painted."""
        show_first_screen(self, path)
        self.starter = BackgroundStart(path, self)
        self.starter.ready.connect(self._on_background_ready, Qt.ConnectionType.QueuedConnection)
        self.first_scatter.on_first_paint(self.starter.start)
        QTimer.singleShot(START_FALLBACK_MS, self.starter.start)

    def _on_background_ready(self, result: StartResult) -> None:
        if self._closing or self.views_ready:
            return
        if result.fatal:
            self.show_error("Cannot load the model", f"the app's libraries failed to load: {result.fatal}")
            return
        finish_start(self, result)
        self._fall_back_to_untrained()
        self._views_built()
        log_startup("model_ready", seconds=f"{result.seconds:.3f}")

    def _views_built(self) -> None:
        from .explorer_docks import fill_explorer_docks

        fill_explorer_docks(self)
        self.after_layout_change()
        self.recovery = RecoveryCopy(self)
        QTimer.singleShot(RECOVERY_OFFER_MS, self._offer_recovery)
        wrap_long_tooltips(self)
        settings.keep_layout_on_screen(self)  # the real views are taller than their placeholders
        self.views_ready = True
        self.datasets.show_current()
        self.viewsReady.emit()

    def reset_layout(self) -> None:
        """Every dock back where a first start puts it (View > Reset layout)."""
        self.restoreState(self._default_layout)
        for dock in self.docks:
            dock.setFloating(False)
        default_dock_sizes(self)
        self.after_layout_change()

    @property
    def closing(self) -> bool:
        """True once the window has started to close (late events then stay quiet)."""
        return self._closing

    @property
    def workers_waited(self) -> bool:
        """True once closing has given the running jobs their time to end."""
        return self._workers_waited

    def after_layout_change(self) -> None:
        """Call after a layout change: see tab_bars.LayoutTidying."""
        self._layout_tidying.request()

    @property
    def docks(self) -> list[QDockWidget]:
        return [getattr(self, name) for name in DOCK_ATTRIBUTES]

    # --- messages --------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """Tell the user (status bar + a non-blocking dialog) and remember it for tests."""
        self.last_error = text
        self.statusBar().showMessage(f"{title}: {text}", 20000)
        if self._closing:
            return
        key = (title, text)
        if key in self._error_boxes:  # the same error from several views: one dialog
            self._error_boxes[key].raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        self._error_boxes[key] = box
        box.finished.connect(lambda _result: self._error_boxes.pop(key, None))
        box.show()

    def show_external(self, model: Any, test_set: Any) -> None:
        """Explore a user's own model (core.external's ExternalModel) on ``test_set``: the
        views that only decode and encode work; those that need the app's training say so."""
        self.state.set_dataset(test_set.name, test_set)
        meta = {"dataset": test_set.name, "external": True}
        self.state.set_history([])
        self.state.set_model(model, meta, None, modified=False)
        self.scatter.reset_zoom()
        self.statusBar().showMessage(
            "Exploring your model: scatter, grid, decoder, walks, traversals and active units work; "
            "the timeline, the posterior and imputation need a model trained here.",
            20000,
        )

    # --- files and datasets (the work is in files.py and datasets.py) ----------------------
    def open_model(self, path: str | Path) -> bool:
        """Load a checkpoint now; errors go to the user, the current model stays."""
        return self.files.open_model(path)

    def open_model_in_background(self, path: str | Path) -> None:
        self.files.open_model_in_background(path)

    @property
    def opening(self) -> bool:
        """A checkpoint is being read in the background."""
        return self.files.opening

    def save_model(self, path: str | Path) -> bool:
        """Save the current model (atomically) with its dataset and training history."""
        return self.files.save_model(path)

    def export_view(self, path: str | Path) -> bool:
        """Write the latent scatter as PNG or SVG (by suffix)."""
        return self.files.export_view(path)

    def export_latents(self, path: str | Path) -> bool:
        """Write the test set's latents (mu, logvar, label) as CSV."""
        return self.files.export_latents(path)

    def set_dataset(self, key: str) -> bool:
        """Show dataset ``key`` ("mnist", "fashion-mnist" or a folder of IDX files)."""
        return self.datasets.set_dataset(key)

    def choose_dataset(self, key: str) -> bool:
        """The user picked ``key``: show it and offer the model that goes with it."""
        return self.datasets.choose_dataset(key)

    def download_dataset(self, name: str) -> None:
        self.datasets.download_dataset(name)

    def ask_open_matching(self, trained_on: str, shown: str) -> bool:
        """Yes/No: open the shipped model of the dataset now shown (tests replace it)."""
        return ask_open_matching(self, trained_on, shown)

    # --- training --------------------------------------------------------------------------
    def start_training(self, job: TrainingJob) -> None:
        """Start a run (what the Start button does, minus the form)."""
        if self.trainer.is_running():
            return
        refusal = cannot_train_on(job.dataset)
        if refusal is not None:
            self.show_error("Training", refusal)
            return
        if job.dataset != self.state.dataset_key and not self.set_dataset(job.dataset):
            return
        self.training.curves.clear_data()
        self.epoch_label.setText("Epoch: starting…")
        self.scatter.reset_zoom()  # a new latent space: follow it as it forms
        self.trainer.start(job)

    def stop_training(self) -> None:
        self.trainer.stop()

    # --- closing ---------------------------------------------------------------------------
    def ask_unsaved(self, before: str = QUITTING) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for a model that exists nowhere else, before ``before``
        (see unsaved.py; tests replace it)."""
        return ask_unsaved(self, before)

    def may_drop_model(self, before: str) -> bool:
        """Ask about an unsaved model before ``before`` replaces it: True to go on."""
        return may_drop_model(self, before)

    def _offer_recovery(self) -> None:
        # Not over a model explore() was given: the user's own, which nothing replaces.
        if not self._closing and not self.state.model_meta.get("external"):
            offer_left_behind(self)

    def ask_recover(self, path: Path) -> QMessageBox.StandardButton:
        """Open / Discard / Later for a recovery copy left behind (tests replace it)."""
        return ask_recover(self, path)

    def end_for_signal(self) -> None:
        """A signal ends the app (app.end_on_signals): the run stops, an unsaved model keeps
        its recovery copy, any question is dismissed, and the window closes (ending.py)."""
        if self._closing:
            return
        keep_work_for_signal(self, CLOSE_WAIT_MS)
        self._closing = True
        QTimer.singleShot(0, self.close)
        dismiss_questions()

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt override
        return move_focus(super().focusNextPrevChild, next)  # (only what can be seen: focus_chain.py)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Ask about an unsaved model, stop training, imputation and downloads and wait for
        their threads, then save the layout."""
        if not self.views_ready:
            # Still loading: nothing can be unsaved yet. The start-up thread is left to end
            # on its own (the process waits for it at exit); what it delivers is ignored.
            self._closing = True
            super().closeEvent(event)
            return
        if self._closed:
            super().closeEvent(event)
            return
        if not self._closing:
            try:
                dropped = may_drop_model(self, QUITTING, CLOSE_WAIT_MS)
            except Exception as exc:  # a fault on the way to saving must not close the window
                event.ignore()
                self.show_error("Quit", f"the model was not saved ({exc}); the window stays open")
                return
            if not self._closing:  # (a signal that came while asking closes, keeping the copy)
                if not dropped:
                    event.ignore()
                    return
                self.recovery.discard()  # saved, or Discard: no copy is wanted
        self.recovery.stop()  # a run's last snapshot, delivered while closing, is not kept
        self._closing = True
        settings.save(self, self.settings)
        self._workers_waited = True
        stop_jobs(self, CLOSE_WAIT_MS)
        self._closed = True
        super().closeEvent(event)

"""The explorer's main window: the latent scatter in the centre, docks around it.

The window holds no app state: that is the ExplorerState (``window.state``), which every
view subscribes to. The window builds the docks, menus and status bar, and does what
involves the user's files and the outside world: opening and saving models, choosing and
downloading datasets, exports, starting and stopping training, closing cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabBar,
    QWidget,
)

from ..state import ExplorerState
from ..theme import app_settings, configure_pyqtgraph
from . import settings
from .datasets import SHIPPED_MODELS, Datasets
from .files import Files
from .first_screen import FirstScatter, LoadingPanel, log_startup
from .startup import BackgroundStart, StartResult, finish_start, show_first_screen

if TYPE_CHECKING:  # the views import torch: the window builds them after its first paint
    from ...core.training import EpochSummary, TrainingFinished, TrainingJob, TrainingStarted
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

DEFAULT_CHECKPOINT = SHIPPED_MODELS / "mnist-bernoulli-z2.safetensors"
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

    def __init__(
        self,
        checkpoint_path: str | Path | None = None,
        load_default: bool = True,
        background: bool = False,
        fallback: bool = True,
    ) -> None:
        super().__init__()
        configure_pyqtgraph()
        self.setWindowTitle("VAE Explorer")
        self.settings = app_settings()
        self.last_error: str | None = None
        self.dataset_key_at_start = "mnist"
        self._closing = False
        self.views_ready = False
        self.starter: BackgroundStart | None = None
        self.state = ExplorerState(self)
        self.datasets = Datasets(self)
        self.files = Files(self)
        self._build_docks()
        self._build_status_bar()
        self.state.modelChanged.connect(self._on_model_changed)
        self.state.datasetChanged.connect(self.datasets.show_current)
        first = self._first_checkpoint(checkpoint_path, load_default)
        if background and first is not None:
            self._start_in_background(first)
            return
        from .training_controller import prepare_runtime
        from .views import build_views

        prepare_runtime()
        build_views(self)
        settings.restore(self, self.settings)
        self._fit_to_screen()
        if fallback or checkpoint_path is not None or load_default:
            self._open_first_model(checkpoint_path, load_default)
        self._views_built()

    @staticmethod
    def _first_checkpoint(checkpoint_path: str | Path | None, load_default: bool) -> Path | None:
        if checkpoint_path is not None:
            return Path(checkpoint_path)
        if load_default and DEFAULT_CHECKPOINT.is_file():
            return DEFAULT_CHECKPOINT
        return None

    def _open_first_model(self, checkpoint_path: str | Path | None, load_default: bool) -> None:
        first = self._first_checkpoint(checkpoint_path, load_default)
        if first is not None:
            self.open_model(first)
        self._fall_back_to_untrained()

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
        self.views_ready = True
        self.datasets.show_current()
        self.viewsReady.emit()

    # --- construction ----------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        """``widget`` in a frameless scroll area, so its dock can be narrower than it."""
        scroll = QScrollArea()
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        return scroll

    def _build_docks(self) -> None:
        """The docks, holding "loading" panels until the views exist (views.py fills them)."""
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        loading = LoadingPanel()
        loading.setMinimumWidth(330)  # as wide as the training form that replaces it
        self.training_dock = self._dock("Training", "training_dock", loading, left)
        self.preview_dock = self._dock("Decoder preview", "preview_dock", LoadingPanel(), right)
        self.grid_dock = self._dock("Latent grid", "grid_dock", LoadingPanel(), right)
        self.samples_dock = self._dock("Samples", "samples_dock", LoadingPanel(), right)
        self.tabifyDockWidget(self.grid_dock, self.samples_dock)
        self.canvas_dock = self._dock("Canvas", "canvas_dock", LoadingPanel(), right)
        self.tabifyDockWidget(self.samples_dock, self.canvas_dock)
        self.posterior_dock = self._dock("Posterior", "posterior_dock", LoadingPanel(), right)
        self.tabifyDockWidget(self.canvas_dock, self.posterior_dock)
        self.analogy_dock = self._dock("Analogy", "analogy_dock", LoadingPanel(), right)
        self.tabifyDockWidget(self.posterior_dock, self.analogy_dock)
        # Beyond the first look (explorer_docks.py): under the scatter only, so the side
        # docks keep their full height: the timeline, walks, traversals, active units.
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.timeline_dock = self._dock("Timeline", "timeline_dock", QWidget(), bottom)
        self.walk_dock = self._dock("Walk", "walk_dock", LoadingPanel(), bottom)
        self.traversal_dock = self._dock("Traversal", "traversal_dock", LoadingPanel(), bottom)
        self.active_units_dock = self._dock("Active units", "active_units_dock", LoadingPanel(), bottom)
        for dock in (self.walk_dock, self.traversal_dock, self.active_units_dock):
            self.tabifyDockWidget(self.timeline_dock, dock)
        self.timeline_dock.raise_()
        self.tidy_tab_bars()  # Qt makes the tab bars on layout
        for dock in self.docks:
            dock.dockLocationChanged.connect(lambda _area: self.tidy_tab_bars())
        self.grid_dock.raise_()
        self.resizeDocks([self.training_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock, self.grid_dock], [300, 480], Qt.Orientation.Vertical)
        # The bottom group is a strip under the scatter, not half the window.
        self.resizeDocks([self.timeline_dock], [170], Qt.Orientation.Vertical)

    def _whole_tab_titles(self) -> None:
        """A crowded tab bar scrolls instead of eliding its titles to "L…"; and the stale
        bars that QMainWindow.restoreState leaves on screen (Qt 6.11: a copy of an older bar,
        drawn away from its docks) are hidden."""
        titles = {dock.windowTitle(): dock for dock in self.docks}
        for bar in self.findChildren(QTabBar):
            if not bar.isVisible() or bar.count() == 0:
                continue
            dock = titles.get(bar.tabText(bar.currentIndex()))
            away = dock is not None and abs(bar.geometry().top() - dock.geometry().bottom()) > 8
            if away and dock is not None and dock.isVisible():
                bar.hide()
                continue
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

    def tidy_tab_bars(self) -> None:
        """After a layout change (restoreState, a dock moved): once Qt has laid it out."""
        QTimer.singleShot(0, self._whole_tab_titles)

    @property
    def docks(self) -> list[QDockWidget]:
        return [
            self.training_dock,
            self.preview_dock,
            self.grid_dock,
            self.samples_dock,
            self.canvas_dock,
            self.posterior_dock,
            self.analogy_dock,
            self.walk_dock,
            self.traversal_dock,
            self.active_units_dock,
            self.timeline_dock,
        ]

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel()
        self.dataset_label = QLabel()
        self.device_label = QLabel("Device: CPU")
        self.epoch_label = QLabel()
        for w in (self.model_label, self.dataset_label, self.device_label, self.epoch_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

    def _fit_to_screen(self) -> None:
        """Keep the window on the screen it opens on: a layout saved on a larger screen (or
        a second monitor since unplugged) must not open partly out of view."""
        screen = self.screen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width, height = min(self.width(), area.width()), min(self.height(), area.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        x = min(max(self.x(), area.left()), area.right() - width + 1)
        y = min(max(self.y(), area.top()), area.bottom() - height + 1)
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    # --- messages --------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """Tell the user (status bar + a non-blocking dialog) and remember it for tests."""
        self.last_error = text
        self.statusBar().showMessage(f"{title}: {text}", 20000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()

    def _on_model_changed(self) -> None:
        state = self.state
        model = state.model
        name = Path(state.model_path).name if state.model_path else "unsaved model"
        if model is None:
            if state.loading:
                self.model_label.setText(f"Model: {name} (loading…)")
                self.setWindowTitle(f"{name} — VAE Explorer")
            return
        c = model.config
        if c is None:  # a user's own module (explore()): no app config
            kind = type(getattr(model, "module", model)).__name__
            self.model_label.setText(f"Model: your {kind} (z={model.latent_dim})")
            self.setWindowTitle(f"{kind} — VAE Explorer")
            return
        like = "cross-entropy" if c.likelihood == "bernoulli" else "squared error"
        arch = getattr(c, "arch", None)  # a labelled model's config names its kind instead
        what = arch.upper() if arch else str(getattr(c, "kind", "model")).upper()
        self.model_label.setText(f"Model: {name} ({what}, z={c.latent_dim}, {like})")
        self.setWindowTitle(f"{name} — VAE Explorer")
        if not state.training:
            done = state.model_meta.get("epochs_completed")
            self.epoch_label.setText(f"Epochs: {done}" if isinstance(done, int) else "Epochs: 0")

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
        answer = QMessageBox.question(
            self,
            "Model and data differ",
            f"The current model was trained on {trained_on}, so its latent space means little "
            f"for {shown}. Open the shipped {shown} model?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    # --- training --------------------------------------------------------------------------
    def start_training(self, job: TrainingJob) -> None:
        """Start a run (what the Start button does, minus the form)."""
        if self.trainer.is_running():
            return
        if job.dataset != self.state.dataset_key and not self.set_dataset(job.dataset):
            return
        self.training.curves.clear_data()
        self.epoch_label.setText("Epoch: starting…")
        self.scatter.reset_zoom()  # a new latent space: follow it as it forms
        self.trainer.start(job)

    def stop_training(self) -> None:
        self.trainer.stop()

    def _on_training_changed(self, running: bool) -> None:
        self.menus.while_training(running)

    def _on_pause_requested(self, pause: bool) -> None:
        if pause:
            self.trainer.pause()
            self.statusBar().showMessage("Training paused")
        else:
            self.trainer.resume()
            self.statusBar().showMessage("Training resumed", 3000)

    def _on_training_started(self, ev: TrainingStarted) -> None:
        self.training.on_started(ev)
        self.device_label.setText(f"Device: {ev.device.upper()}")
        self.epoch_label.setText(f"Epoch: 1/{ev.epochs}")

    def _on_epoch_finished(self, ev: EpochSummary) -> None:
        self.training.on_epoch(ev)
        self.epoch_label.setText(f"Epoch: {ev.epoch}/{ev.epochs}")

    def _on_training_failed(self, message: str) -> None:
        self.show_error("Training stopped", message)

    def _on_training_done(self, finished: TrainingFinished) -> None:
        failed = self.trainer.failed_run
        epochs = finished.epochs_completed
        self.training.on_done(finished.stopped, epochs, failed)
        self.epoch_label.setText(f"Epochs: {epochs}")
        if not failed and not self._closing:
            self.statusBar().showMessage(
                f"Training {'stopped' if finished.stopped else 'finished'} after {epochs} epoch(s): "
                "the new model is current; File ▸ Save model keeps it.",
                15000,
            )

    # --- closing ---------------------------------------------------------------------------
    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for a model that exists nowhere else (tests replace it)."""
        training = self.trainer.is_running()
        text = (
            "A model is training. Save it before quitting?"
            if training
            else "The current model was trained here and is not saved. Save it before quitting?"
        )
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved model", text, parent=self)
        box.setInformativeText(
            "Save stops the run and saves the model as trained so far."
            if training
            else "Discard loses the trained weights."
        )
        Button = QMessageBox.StandardButton
        box.setStandardButtons(Button.Save | Button.Discard | Button.Cancel)
        box.setDefaultButton(Button.Save)
        return Button(box.exec())

    def _may_close(self) -> bool:
        """False if the user chose to keep the window (Cancel, or a save that failed)."""
        if not (self.state.modified or self.trainer.is_running()):
            return True
        Button = QMessageBox.StandardButton
        answer = self.ask_unsaved()
        if answer == Button.Cancel:
            return False
        if answer == Button.Save:
            self.trainer.stop(wait_ms=CLOSE_WAIT_MS)
            if not self.menus.save_interactively():
                return False
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Ask about an unsaved model, stop training, imputation and downloads and wait for
        their threads, then save the layout."""
        if not self.views_ready:
            # Still loading: nothing can be unsaved yet. The start-up thread is left to end
            # on its own (the process waits for it at exit); what it delivers is ignored.
            self._closing = True
            super().closeEvent(event)
            return
        if not self._closing and not self._may_close():
            event.ignore()
            return
        self._closing = True
        settings.save(self, self.settings)
        self.canvas.shutdown()
        self.posterior.shutdown()
        self.analogy.shutdown()
        self.animation_exporter.cancel()
        if self.downloader.is_running():
            self.downloader.cancel(wait_ms=CLOSE_WAIT_MS)
        if not self.trainer.stop(wait_ms=CLOSE_WAIT_MS):
            self.statusBar().showMessage("Waiting for the training thread to stop…")
        from ..workers import wait_for_workers

        wait_for_workers(CLOSE_WAIT_MS)
        for box in self.findChildren(QMessageBox):  # open error messages go with the window
            box.close()
        super().closeEvent(event)

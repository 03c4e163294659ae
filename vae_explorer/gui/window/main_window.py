"""The explorer's main window: the latent scatter in the centre, docks around it.

The window holds no app state: that is the ExplorerState (``window.state``), which every
view subscribes to. The window builds the docks, menus and status bar, and does what
involves the user's files and the outside world: opening and saving models, choosing and
downloading datasets, exports, starting and stopping training, closing cleanly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from ...core.model import VAE, VAEConfig
from ...core.training import EpochSummary, TrainingFinished, TrainingJob, TrainingStarted
from ..canvas import CanvasPanel
from ..cpu_threads import use_one_cpu_thread_in_this_thread
from ..panels import DecoderPreview, LatentGridPanel, SamplesPanel, TrainingPanel
from ..panels.posterior import PosteriorPanel
from ..scatter import LatentScatterView
from ..state import ExplorerState
from ..theme import app_settings, configure_pyqtgraph
from ..workers import wait_for_workers
from . import settings
from .actions import WindowMenus
from .datasets import SHIPPED_MODELS, Datasets
from .downloads import DatasetDownloader
from .files import Files
from .training_controller import TrainingController, prepare_runtime

DEFAULT_CHECKPOINT = SHIPPED_MODELS / "mnist-bernoulli-z2.safetensors"
CLOSE_WAIT_MS = 3000


class MainWindow(QMainWindow):
    """VAE Explorer's window. Public methods taking paths bypass the file dialogs."""

    def __init__(self, checkpoint_path: str | Path | None = None, load_default: bool = True) -> None:
        super().__init__()
        configure_pyqtgraph()
        # Decodes in this thread are tiny: one intra-op thread keeps them fast and leaves
        # the cores to the training worker's own thread team (see cpu_threads).
        if not use_one_cpu_thread_in_this_thread():
            torch.set_num_threads(1)
        prepare_runtime()
        self.setWindowTitle("VAE Explorer")
        self.settings = app_settings()
        self.last_error: str | None = None
        self.dataset_key_at_start = "mnist"
        self._closing = False

        self.state = state = ExplorerState(self)
        self.scatter = LatentScatterView(state)
        self.setCentralWidget(self.scatter)
        self.training = TrainingPanel(state)
        self.preview = DecoderPreview(state)
        self.grid = LatentGridPanel(state)
        self.samples = SamplesPanel(state)
        self.canvas = CanvasPanel(state)
        self.posterior = PosteriorPanel(state)
        self.trainer = TrainingController(state, self)
        self.downloader = DatasetDownloader(self)
        self.datasets = Datasets(self)
        self.files = Files(self)
        self._build_docks()
        self.menus = WindowMenus(self)
        self.menus.fill_view_menu(
            [
                self.training_dock,
                self.preview_dock,
                self.grid_dock,
                self.samples_dock,
                self.canvas_dock,
                self.posterior_dock,
            ]
        )
        self._build_status_bar()
        self._connect()
        settings.restore(self, self.settings)
        self._fit_to_screen()
        self._open_first_model(checkpoint_path, load_default)

    def _open_first_model(self, checkpoint_path: str | Path | None, load_default: bool) -> None:
        if checkpoint_path is not None:
            self.open_model(checkpoint_path)
        elif load_default and DEFAULT_CHECKPOINT.is_file():
            self.open_model(DEFAULT_CHECKPOINT)
        if self.state.model is None:
            if self.state.test_set is None:
                self.set_dataset(self.dataset_key_at_start)
            torch.manual_seed(0)
            self.state.set_model(VAE(VAEConfig()), {}, None, modified=False)
            self.statusBar().showMessage(
                "No trained model found: showing an untrained one. Train one in the Training "
                "panel, or File ▸ Open model.",
                15000,
            )

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
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        scroll = self._scrolled(self.training)
        scroll.setMinimumWidth(330)
        self.training_dock = self._dock("Training", "training_dock", scroll, left)
        self.preview_dock = self._dock("Decoder preview", "preview_dock", self.preview, right)
        self.grid_dock = self._dock("Latent grid", "grid_dock", self.grid, right)
        self.samples_dock = self._dock("Samples", "samples_dock", self.samples, right)
        self.tabifyDockWidget(self.grid_dock, self.samples_dock)
        # The canvas's tool row is wide; scrolled, it no longer sets the whole right dock
        # area's minimum width (which pushed the window past a 1400-px screen).
        self.canvas_dock = self._dock("Canvas", "canvas_dock", self._scrolled(self.canvas), right)
        self.tabifyDockWidget(self.samples_dock, self.canvas_dock)
        self.posterior_dock = self._dock("Posterior", "posterior_dock", self.posterior, right)
        self.tabifyDockWidget(self.canvas_dock, self.posterior_dock)
        self.grid_dock.raise_()
        self.resizeDocks([self.training_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock, self.grid_dock], [300, 480], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel()
        self.dataset_label = QLabel()
        self.device_label = QLabel("Device: CPU")
        self.epoch_label = QLabel()
        for w in (self.model_label, self.dataset_label, self.device_label, self.epoch_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        s = self.state
        s.modelChanged.connect(self._on_model_changed)
        s.datasetChanged.connect(self.datasets.show_current)
        s.trainingChanged.connect(self._on_training_changed)
        t = self.training
        t.startRequested.connect(self.start_training)
        t.pauseRequested.connect(self._on_pause_requested)
        t.stopRequested.connect(self.stop_training)
        t.datasetRequested.connect(self.choose_dataset)
        d = self.downloader
        d.finished.connect(self.datasets._on_download_finished)
        d.failed.connect(self.datasets._on_download_failed)
        r = self.trainer
        r.started.connect(self._on_training_started)
        r.batchMetrics.connect(self.training.on_batch)
        r.epochFinished.connect(self._on_epoch_finished)
        r.failed.connect(self._on_training_failed)
        r.done.connect(self._on_training_done)

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
        if model is None:
            return
        c = model.config
        name = Path(state.model_path).name if state.model_path else "unsaved model"
        like = "cross-entropy" if c.likelihood == "bernoulli" else "squared error"
        self.model_label.setText(f"Model: {name} ({c.arch.upper()}, z={c.latent_dim}, {like})")
        self.setWindowTitle(f"{name} — VAE Explorer")
        if not state.training:
            done = state.model_meta.get("epochs_completed")
            self.epoch_label.setText(f"Epochs: {done}" if isinstance(done, int) else "Epochs: 0")

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
        if not self._closing and not self._may_close():
            event.ignore()
            return
        self._closing = True
        settings.save(self, self.settings)
        self.canvas.shutdown()
        self.posterior.shutdown()
        if self.downloader.is_running():
            self.downloader.cancel(wait_ms=CLOSE_WAIT_MS)
        if not self.trainer.stop(wait_ms=CLOSE_WAIT_MS):
            self.statusBar().showMessage("Waiting for the training thread to stop…")
        wait_for_workers(CLOSE_WAIT_MS)
        for box in self.findChildren(QMessageBox):  # open error messages go with the window
            box.close()
        super().closeEvent(event)

"""The explorer's main window: latent scatter in the centre, docks around it.

The window holds the CURRENT model (its own CPU copy), the displayed dataset's test split
and its latents, and wires the views together. Training runs in the runner's worker
thread; snapshots arrive as copies and are applied at most every ``SCATTER_REFRESH_MS``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QByteArray, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QScrollArea,
    QWidget,
)

from .. import __version__
from ..core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ..core.data import DATASETS, PROJECT_ROOT, Dataset, DatasetError, load_dataset, locate_dataset
from ..core.latent import (
    decode_latents,
    encode_images,
    grid_latents,
    linear_grid_axis,
    tile_images,
)
from ..core.model import VAE, VAEConfig
from ..core.rendering import latent_plane, write_latents_csv
from ..core.training import BatchMetrics, EpochSummary, Snapshot, TrainingFinished, TrainingStarted
from .cpu_threads import use_one_cpu_thread_in_this_thread
from .dataset_download import DatasetDownloader
from .decoder_preview import DecoderPreview
from .latent_grid import LatentGridPanel
from .samples import SamplesPanel
from .scatter import LatentScatterView
from .theme import app_settings, configure_pyqtgraph
from .training_panel import TrainingPanel
from .training_worker import TrainingJob, TrainingRunner, prepare_runtime

try:  # built in parallel by the canvas engineer; the window works without it
    from .canvas_panel import CanvasPanel
except ModuleNotFoundError as _exc:  # pragma: no cover - depends on the tree
    if _exc.name != f"{__package__}.canvas_panel":
        raise
    CanvasPanel = None  # type: ignore[assignment,misc]

DEFAULT_CHECKPOINT = PROJECT_ROOT / "trained" / "mnist-bernoulli-z2.safetensors"
SCATTER_REFRESH_MS = 250
VIEW_FOLLOW_MS = 120
CLOSE_WAIT_MS = 3000
CANVAS_REFRESH_S = 5.0


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
        self.model: VAE | None = None
        self.model_meta: dict[str, Any] = {}
        self.model_path: Path | None = None
        self.dataset_key = "mnist"
        self.test_set: Dataset | None = None
        self.latents: tuple[np.ndarray, np.ndarray] | None = None
        self.current_z: np.ndarray | None = None
        self.posterior: tuple[np.ndarray, np.ndarray] | None = None
        self.last_error: str | None = None
        self._history: list[dict[str, Any]] = []
        self._pending_snapshot: Snapshot | None = None
        self._job: TrainingJob | None = None
        self._failed = False
        self._closing = False
        self.snapshots_applied = 0

        self.scatter = LatentScatterView()
        self.setCentralWidget(self.scatter)
        self.training = TrainingPanel()
        self.preview = DecoderPreview()
        self.grid = LatentGridPanel()
        self.samples = SamplesPanel()
        self.canvas = CanvasPanel() if CanvasPanel is not None else None
        self.runner = TrainingRunner(self)
        self.downloader = DatasetDownloader(self)
        self._download_dialog: QProgressDialog | None = None
        self._build_docks()
        self._build_menus()
        self._build_status_bar()

        self._scatter_timer = QTimer(self, singleShot=True, interval=SCATTER_REFRESH_MS)
        self._scatter_timer.timeout.connect(self._on_scatter_timer)
        self._staged_steps: list[Any] = []
        self._canvas_updated_at = 0.0
        self._stage_timer = QTimer(self, interval=0)
        self._stage_timer.timeout.connect(self._on_stage_timer)
        self._view_timer = QTimer(self, singleShot=True, interval=VIEW_FOLLOW_MS)
        self._view_timer.timeout.connect(self._on_view_timer)
        self._connect()
        self._restore_settings()
        if checkpoint_path is not None:
            self.open_model(checkpoint_path)
        elif load_default and DEFAULT_CHECKPOINT.is_file():
            self.open_model(DEFAULT_CHECKPOINT)
        if self.model is None:
            self.set_dataset(self.dataset_key)
            torch.manual_seed(0)
            self.set_model(VAE(VAEConfig()), {}, None)
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
        self.canvas_dock: QDockWidget | None = None
        if self.canvas is not None:
            # The canvas's tool row is wide; scrolled, it no longer sets the whole right
            # dock area's minimum width (which pushed the window past a 1400-px screen).
            self.canvas_dock = self._dock("Canvas", "canvas_dock", self._scrolled(self.canvas), right)
            self.tabifyDockWidget(self.samples_dock, self.canvas_dock)
        self.grid_dock.raise_()
        self.resizeDocks([self.training_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.preview_dock, self.grid_dock], [360, 420], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        self.open_action = self._action(
            "&Open model…",
            self._on_open_triggered,
            QKeySequence.StandardKey.Open,
            "Open a .safetensors checkpoint",
        )
        self.save_action = self._action("&Save model", self._on_save_triggered, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(
            "Save model &as…", self._on_save_as_triggered, QKeySequence("Ctrl+Shift+S")
        )
        self.export_png_action = self._action(
            "Export view as &PNG…", lambda: self._on_export_triggered("png")
        )
        self.export_svg_action = self._action(
            "Export view as S&VG…", lambda: self._on_export_triggered("svg")
        )
        self.export_csv_action = self._action("Export &latents as CSV…", self._on_export_csv_triggered)
        self.quit_action = self._action("&Quit", self.close, QKeySequence("Ctrl+Q"))
        for a in (
            self.open_action,
            self.save_action,
            self.save_as_action,
            None,
            self.export_png_action,
            self.export_svg_action,
            self.export_csv_action,
            None,
            self.quit_action,
        ):
            m.addSeparator() if a is None else m.addAction(a)

        m = bar.addMenu("&Dataset")
        self.dataset_group = QActionGroup(self)
        self.dataset_actions: dict[str, QAction] = {}
        for key, info in DATASETS.items():
            a = self._action(info.title, lambda _=False, k=key: self.set_dataset(k))
            a.setCheckable(True)
            self.dataset_group.addAction(a)
            self.dataset_actions[key] = a
            m.addAction(a)
        m.addSeparator()
        self.open_folder_action = self._action("Open folder of IDX files…", self._on_open_folder_triggered)
        m.addAction(self.open_folder_action)
        self.download_actions: dict[str, QAction] = {}
        for key, info in DATASETS.items():
            if info.url is None:
                continue
            a = self._action(
                f"Download {info.title}…",
                lambda _=False, k=key: self.download_dataset(k),
                tip=f"Fetch {info.title} into the user cache (checksummed)",
            )
            a.setEnabled(locate_dataset(key, "test") is None)
            self.download_actions[key] = a
            m.addAction(a)

        m = bar.addMenu("&View")
        for dock in (
            self.training_dock,
            self.preview_dock,
            self.grid_dock,
            self.samples_dock,
            self.canvas_dock,
        ):
            if dock is not None:
                m.addAction(dock.toggleViewAction())
        m.addSeparator()
        self.overlay_action = QAction("Decoded grid &overlay", self, checkable=True)
        self.overlay_action.toggled.connect(self.scatter.overlay_check.setChecked)
        self.scatter.overlay_check.toggled.connect(self.overlay_action.setChecked)
        m.addAction(self.overlay_action)
        m.addAction(self._action("&Reset zoom", self._on_reset_zoom_triggered, QKeySequence("Ctrl+0")))

        m = bar.addMenu("&Help")
        m.addAction(self._action("&About VAE Explorer", self._on_about_triggered))

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel()
        self.dataset_label = QLabel()
        self.device_label = QLabel()
        self.epoch_label = QLabel()
        for w in (self.model_label, self.dataset_label, self.device_label, self.epoch_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        s = self.scatter
        s.latentPressed.connect(self._on_latent_requested)
        s.latentDragged.connect(self._on_latent_requested)
        s.pointSelected.connect(self._on_point_selected)
        s.dimsChanged.connect(self._on_dims_changed)
        s.overlayToggled.connect(self._on_overlay_toggled)
        s.viewRangeChanged.connect(self._on_view_range_changed)
        self.grid.latentPicked.connect(self.show_latent)
        t = self.training
        t.startRequested.connect(self._on_start_requested)
        t.pauseRequested.connect(self._on_pause_requested)
        t.stopRequested.connect(self.stop_training)
        t.datasetChanged.connect(self.set_dataset)
        d = self.downloader
        d.progress.connect(self._on_download_progress)
        d.finished.connect(self._on_download_finished)
        d.failed.connect(self._on_download_failed)
        r = self.runner
        r.started.connect(self._on_training_started)
        r.batchMetrics.connect(self._on_batch_metrics)
        r.epochFinished.connect(self._on_epoch_finished)
        r.snapshotReady.connect(self._on_snapshot_ready)
        r.failed.connect(self._on_training_failed)
        r.done.connect(self._on_training_done)
        if self.canvas is not None and hasattr(self.canvas, "encoded"):
            self.canvas.encoded.connect(self._on_canvas_encoded)

    # --- settings --------------------------------------------------------------------------
    def _fit_to_screen(self) -> None:
        """Keep the window on the screen it opens on: a layout saved on a larger screen (or
        a second monitor since unplugged) must not open partly out of view."""
        screen = self.screen() or QApplication.primaryScreen()
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

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        self._fit_to_screen()
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        key = s.value("dataset", "mnist")
        if isinstance(key, str) and (key in DATASETS or Path(key).is_dir()):
            self.dataset_key = key
        try:  # a damaged or hand-edited settings file must not stop the app from starting
            self.grid.size_spin.setValue(int(s.value("grid/size", 15)))
        except (TypeError, ValueError):
            pass
        self.scatter.overlay_check.setChecked(s.value("view/overlay", "false") in (True, "true"))
        self.training.smooth_check.setChecked(s.value("train/smooth", "false") in (True, "true"))
        form = s.value("train/form")
        if isinstance(form, str):
            try:
                self.training.restore_form_state(json.loads(form))
            except (ValueError, AttributeError):
                pass

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("dataset", self.dataset_key)
        s.setValue("grid/size", self.grid.grid_size())
        s.setValue("view/overlay", self.scatter.overlay_check.isChecked())
        s.setValue("train/smooth", self.training.smooth_check.isChecked())
        s.setValue("train/form", json.dumps(self.training.form_state()))
        s.sync()

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

    def _update_status(self, epoch_text: str | None = None) -> None:
        if self.model is not None:
            c = self.model.config
            name = self.model_path.name if self.model_path else "unsaved model"
            like = "cross-entropy" if c.likelihood == "bernoulli" else "squared error"
            self.model_label.setText(f"Model: {name} ({c.arch.upper()}, z={c.latent_dim}, {like})")
            self.setWindowTitle(f"{name} — VAE Explorer")
        title = (
            DATASETS[self.dataset_key].title if self.dataset_key in DATASETS else Path(self.dataset_key).name
        )
        n = len(self.test_set) if self.test_set is not None else 0
        self.dataset_label.setText(f"Data: {title} ({n:,} test images)")
        if self.device_label.text() == "":
            self.device_label.setText("Device: CPU")
        if epoch_text is not None:
            self.epoch_label.setText(epoch_text)
        elif self.epoch_label.text() == "":
            done = self.model_meta.get("epochs_completed")
            self.epoch_label.setText(f"Epochs: {done}" if done is not None else "Epochs: 0")

    # --- dataset ---------------------------------------------------------------------------
    def set_dataset(self, key: str) -> bool:
        """Show dataset ``key`` ("mnist", "fashion-mnist" or a folder of IDX files)."""
        if self.runner.is_running():
            self.show_error("Dataset", "stop the training run before changing the dataset")
            self.training.set_dataset(self.dataset_key)
            return False
        name, root = (key, None) if key in DATASETS else ("mnist", key)
        try:
            test = load_dataset(name, "test", root=root)
        except DatasetError as exc:
            self.show_error("Cannot open the dataset", str(exc))
            self._sync_dataset_widgets()
            return False
        self.dataset_key, self.test_set = key, test
        self._sync_dataset_widgets()
        self.scatter.set_dataset(test.images, test.labels, test.classes)
        if self.canvas is not None and hasattr(self.canvas, "set_test_images"):
            self.canvas.set_test_images(test.images, test.labels)
        if self.model is not None:
            self._encode_and_show()
        self._update_status()
        return True

    def _sync_dataset_widgets(self) -> None:
        key = self.dataset_key
        title = DATASETS[key].title if key in DATASETS else f"Folder: {Path(key).name}"
        self.training.set_dataset(key, title)
        for k, a in self.dataset_actions.items():
            a.setChecked(k == key)

    def download_dataset(self, name: str) -> None:
        """Fetch a downloadable dataset in the background, then show it."""
        if self.downloader.is_running():
            return
        info = DATASETS[name]
        dialog = QProgressDialog(f"Downloading {info.title}…", "Cancel", 0, 0, self)
        dialog.setWindowTitle("Download")
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.downloader.cancel)
        dialog.show()
        self._download_dialog = dialog
        self.statusBar().showMessage(f"Downloading {info.title}…")
        self.downloader.start(name)

    def _on_download_progress(self, label: str, done: int, total: int) -> None:
        dialog = self._download_dialog
        if dialog is None:
            return
        dialog.setLabelText(f"{label}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else label)
        dialog.setMaximum(max(total, 1) if total else 0)
        dialog.setValue(min(done, total) if total else 0)

    def _close_download_dialog(self) -> None:
        if self._download_dialog is not None:
            self._download_dialog.close()
            self._download_dialog.deleteLater()
            self._download_dialog = None

    def _on_download_finished(self, name: str, _folder: str) -> None:
        self._close_download_dialog()
        if name in self.download_actions:
            self.download_actions[name].setEnabled(False)
        self.statusBar().showMessage(f"Downloaded {DATASETS[name].title}", 8000)
        if not self._closing:
            self.set_dataset(name)

    def _on_download_failed(self, message: str) -> None:
        self._close_download_dialog()
        if message == "download cancelled":
            self.statusBar().showMessage("Download cancelled", 8000)
        else:
            self.show_error("Download failed", message)

    # --- model -----------------------------------------------------------------------------
    def set_model(
        self,
        model: VAE,
        meta: dict[str, Any] | None = None,
        path: Path | None = None,
        latents: tuple[np.ndarray, np.ndarray] | None = None,
        staged: bool = False,
    ) -> None:
        """Make ``model`` current (the window owns it) and refresh every view.

        ``staged`` (snapshots while training): the scatter and preview update now, the
        grid, samples, canvas and overlay one per event-loop pass, so no single block of
        GUI work is long enough to make the window stutter.
        """
        model.eval()
        if self.posterior is not None and len(self.posterior[0]) != model.latent_dim:
            self.posterior = None
            self.scatter.set_posterior(None, None)
        self.model, self.model_path = model, path
        if meta is not None:
            self.model_meta = meta
        self.scatter.set_latent_dim(model.latent_dim)
        if latents is not None and self.test_set is not None and len(latents[0]) == len(self.test_set):
            self.latents = latents
            self.scatter.set_latents(*latents)
        else:
            self._encode_and_show()
        steps = [
            lambda: self.grid.set_model(model, self.scatter.dims),
            lambda: self.samples.set_model(model),
            self._refresh_overlay,
        ]
        # The canvas copies the model and may re-impute live: while training, at most
        # every CANVAS_REFRESH_S seconds.
        now = time.monotonic()
        if self.canvas is not None and hasattr(self.canvas, "set_model"):
            if not staged or now - self._canvas_updated_at >= CANVAS_REFRESH_S:
                self._canvas_updated_at = now
                steps.append(lambda: self.canvas.set_model(model))
        self._staged_steps = steps if staged else []
        if staged:
            self._stage_timer.start()
        else:
            self._stage_timer.stop()
            for step in steps:
                step()
        z = self.current_z if self.current_z is not None and len(self.current_z) == model.latent_dim else None
        self.show_latent(z if z is not None else np.zeros(model.latent_dim, np.float32))
        self._update_status()

    def _encode_and_show(self) -> None:
        if self.model is None or self.test_set is None:
            return
        self.latents = encode_images(self.model, self.test_set.images)
        self.scatter.set_latents(*self.latents)
        self.scatter.vb.enableAutoRange()

    def open_model(self, path: str | Path) -> bool:
        """Load a checkpoint; errors go to the user, the current model stays."""
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            self.show_error("Cannot open the model", str(exc))
            return False
        if self.runner.is_running():
            # The run's final snapshot would replace the opened model when it arrives.
            self.show_error("Open model", "stop the training run before opening a model")
            return False
        ds = ckpt.metadata.get("dataset")
        if isinstance(ds, str) and ds in DATASETS and ds != self.dataset_key or self.test_set is None:
            self.set_dataset(ds if isinstance(ds, str) and ds in DATASETS else self.dataset_key)
        history = ckpt.metadata.get("history")
        self._history = list(history) if isinstance(history, list) else []
        self.training.curves.set_history(self._history)
        tc = ckpt.metadata.get("train_config")
        self.training.set_model_config(ckpt.model.config, tc if isinstance(tc, dict) else None)
        self.epoch_label.setText("")
        self.set_model(ckpt.model, dict(ckpt.metadata), Path(path))
        self.settings.setValue("paths/last_model", str(path))
        self.statusBar().showMessage(f"Opened {path}", 8000)
        return True

    def save_model(self, path: str | Path) -> bool:
        """Save the current model (atomically) with its dataset and training history."""
        if self.model is None:
            return False
        meta = {
            k: v
            for k, v in self.model_meta.items()
            if k not in ("config", "format", "format_version", "app_version")
        }
        meta.setdefault("dataset", self.dataset_key if self.dataset_key in DATASETS else "custom")
        if self._history:
            meta["history"] = self._history
        try:
            saved = save_checkpoint(self.model, path, meta)
        except CheckpointError as exc:
            self.show_error("Cannot save the model", str(exc))
            return False
        self.model_path = saved
        self._update_status()
        self.statusBar().showMessage(f"Saved {saved}", 8000)
        return True

    # --- decoding --------------------------------------------------------------------------
    def show_latent(self, z: np.ndarray) -> None:
        """Decode the full latent code ``z`` into the preview and mark it on the scatter."""
        if self.model is None:
            return
        z = np.asarray(z, np.float32)
        self.current_z = z
        image = decode_latents(self.model, z[None])[0]
        self.preview.show_decoded(z, image)
        d = self.scatter.dims
        self.scatter.set_crosshair(np.array([z[d[0]], z[d[1]] if len(z) > 1 else 0.0]))

    def _on_latent_requested(self, xy: np.ndarray) -> None:
        if self.model is not None:
            self.show_latent(latent_plane(xy, self.model.latent_dim, self.scatter.dims))

    def _on_point_selected(self, index: int) -> None:
        if self.model is None or self.test_set is None or self.latents is None:
            return
        recon = decode_latents(self.model, self.latents[0][index : index + 1])[0]
        label = int(self.test_set.labels[index])
        self.preview.show_pair(index, self.test_set.classes[label], self.test_set.images[index], recon)

    def _on_dims_changed(self, _x: int, _y: int) -> None:
        self.grid.set_dims(self.scatter.dims)
        self._refresh_overlay()
        if self.posterior is not None:
            self.scatter.set_posterior(*self.posterior)
        if self.current_z is not None:
            self.show_latent(self.current_z)

    def _on_canvas_encoded(self, mu: Any, logvar: Any) -> None:
        if mu is None or logvar is None:
            self.posterior = None
            self.scatter.set_posterior(None, None)
            return
        self.posterior = (
            np.asarray(mu, np.float32).ravel(),
            np.asarray(logvar, np.float32).ravel(),
        )
        self.scatter.set_posterior(*self.posterior)

    # --- overlay and view-following --------------------------------------------------------
    def _refresh_overlay(self) -> None:
        if self.model is None or not self.scatter.overlay_enabled():
            self.scatter.set_overlay(None)
            return
        n = self.grid.grid_size()
        (x0, x1), (y0, y1) = self.scatter.visible_range()
        dx, dy = (x1 - x0) / n, (y1 - y0) / n
        xs = linear_grid_axis(x0 + dx / 2, x1 - dx / 2, n)
        ys = linear_grid_axis(y0 + dy / 2, y1 - dy / 2, n)
        dims = self.scatter.dims if self.model.latent_dim > 1 else (0, 0)
        images = decode_latents(self.model, grid_latents(xs, ys, self.model.latent_dim, dims))
        self.scatter.set_overlay(tile_images(images, n, n), QRectF(x0, y0, x1 - x0, y1 - y0))

    def _on_overlay_toggled(self, _on: bool) -> None:
        self._refresh_overlay()

    def _on_view_range_changed(self) -> None:
        self._view_timer.start()

    def _on_view_timer(self) -> None:
        self.grid.set_visible_range(*self.scatter.visible_range())
        self._refresh_overlay()

    def _on_reset_zoom_triggered(self) -> None:
        self.scatter.vb.enableAutoRange()

    # --- training --------------------------------------------------------------------------
    def start_training(self, job: TrainingJob) -> None:
        """Start a run (what the Start button does, minus the form)."""
        self._on_start_requested(job)

    def stop_training(self) -> None:
        self.runner.stop()

    def _on_start_requested(self, job: TrainingJob) -> None:
        if self.runner.is_running():
            return
        if job.dataset != self.dataset_key and job.data_root != self.dataset_key:
            if not self.set_dataset(job.data_root or job.dataset):
                return
        self._job, self._failed, self._history = job, False, []
        self.training.curves.clear_data()
        self.training.set_running(True)
        for a in (self.open_action, self.open_folder_action, *self.dataset_actions.values()):
            a.setEnabled(False)
        self.epoch_label.setText("Epoch: starting…")
        self.scatter.vb.enableAutoRange()  # a new latent space: follow it as it forms
        self.runner.start(job)

    def _on_pause_requested(self, pause: bool) -> None:
        if pause:
            self.runner.pause()
            self.statusBar().showMessage("Training paused")
        else:
            self.runner.resume()
            self.statusBar().showMessage("Training resumed", 3000)

    def _on_training_started(self, ev: TrainingStarted) -> None:
        self.training.on_started(ev)
        self.device_label.setText(f"Device: {ev.device.upper()}")
        self.epoch_label.setText(f"Epoch: 1/{ev.epochs}")

    def _on_batch_metrics(self, ev: BatchMetrics) -> None:
        self.training.on_batch(ev)

    def _on_epoch_finished(self, ev: EpochSummary) -> None:
        self.training.on_epoch(ev)
        self._history.append({k: v for k, v in ev.__dict__.items() if k != "epochs"})
        self.epoch_label.setText(f"Epoch: {ev.epoch}/{ev.epochs}")

    def _on_snapshot_ready(self, snap: Snapshot) -> None:
        self._pending_snapshot = snap
        if not self._scatter_timer.isActive():
            self._scatter_timer.start()

    def _on_scatter_timer(self, final: bool = False) -> None:
        snap, self._pending_snapshot = self._pending_snapshot, None
        if snap is None:
            return
        same = self.model is not None and self.model.config == snap.config
        # Our own copy: reuse it when the shapes match (loading weights is far cheaper
        # than building and randomly initialising a new network).
        model = self.model if same else VAE(snap.config)
        assert model is not None
        model.load_state_dict(snap.state_dict)
        latents = (snap.test_mu, snap.test_logvar) if snap.test_mu is not None else None
        was_new_shape = self.model is None or self.model.latent_dim != model.latent_dim
        meta = self._training_meta(snap.epoch)
        self.set_model(model, meta, None, latents, staged=not final)  # type: ignore[arg-type]
        if was_new_shape:
            self.scatter.vb.enableAutoRange()
        self.snapshots_applied += 1

    def _on_stage_timer(self) -> None:
        if self._staged_steps:
            self._staged_steps.pop(0)()
        if not self._staged_steps:
            self._stage_timer.stop()

    def _training_meta(self, epochs: int) -> dict[str, Any]:
        job = self._job
        meta: dict[str, Any] = {
            "dataset": self.dataset_key if self.dataset_key in DATASETS else "custom",
            "epochs_completed": epochs,
        }
        if job is not None:
            meta["train_config"] = dict(job.train_config.__dict__)
            meta["command"] = f"VAE Explorer {__version__} (GUI)"
        return meta

    def _on_training_failed(self, message: str) -> None:
        self._failed = True
        self.show_error("Training stopped", message)

    def _on_training_done(self, finished: TrainingFinished) -> None:
        if self._scatter_timer.isActive():
            self._scatter_timer.stop()
        self._on_scatter_timer(final=True)  # the last snapshot becomes the current model
        if self.model is not None and self.canvas is not None and hasattr(self.canvas, "set_model"):
            self.canvas.set_model(self.model)
        epochs = finished.epochs_completed
        self.training.on_done(finished.stopped, epochs, self._failed)
        for a in (self.open_action, self.open_folder_action, *self.dataset_actions.values()):
            a.setEnabled(True)
        if not self._failed and not self._closing:
            self.model_meta["epochs_completed"] = epochs
            self.statusBar().showMessage(
                f"Training {'stopped' if finished.stopped else 'finished'} after {epochs} epoch(s): "
                "the new model is current; File ▸ Save model keeps it.",
                15000,
            )

    # --- file dialogs (thin: the work is in the path-taking methods) -----------------------
    def _last_dir(self) -> str:
        return str(self.settings.value("paths/last_dir", str(Path.home())))

    def _remember_dir(self, path: str) -> None:
        self.settings.setValue("paths/last_dir", str(Path(path).parent))

    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model", self._last_dir(), "VAE Explorer models (*.safetensors)"
        )
        if path:
            self._remember_dir(path)
            self.open_model(path)

    def _on_save_triggered(self) -> None:
        path = self.model_path
        if path is None or PROJECT_ROOT / "trained" in path.parents:
            self._on_save_as_triggered()
        else:
            self.save_model(path)

    def _on_save_as_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", self._last_dir(), "VAE Explorer models (*.safetensors)"
        )
        if path:
            if not path.endswith(".safetensors"):
                path += ".safetensors"
            self._remember_dir(path)
            self.save_model(path)

    def export_view(self, path: str | Path) -> bool:
        """Write the latent scatter as PNG (pyqtgraph's exporter) or SVG (by suffix)."""
        path = str(path)
        try:
            if not Path(path).parent.is_dir():  # checked first: Qt would only log a warning
                raise OSError(f"no such folder {Path(path).parent}")
            if path.lower().endswith(".svg"):
                self._export_svg(path)
            else:
                import pyqtgraph.exporters as exporters

                item = self.scatter.plot.getPlotItem()
                exporter = exporters.ImageExporter(item)
                exporter.parameters()["width"] = max(1200, int(item.width()))
                if not exporter.export(path):
                    raise OSError("the image could not be written (no permission, or a full disk?)")
        except Exception as exc:  # noqa: BLE001 - exporters raise many kinds
            self.show_error("Export failed", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Exported {path}", 8000)
        return True

    def _export_svg(self, path: str) -> None:
        # pyqtgraph 0.14's SVGExporter cannot parse the path syntax Qt 6.12 writes, so the
        # view is rendered straight into a QSvgGenerator, with the points as real circles.
        from PySide6.QtCore import QRect, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        view = self.scatter.plot
        size = view.viewport().size()
        gen = QSvgGenerator()
        gen.setFileName(path)
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRect(0, 0, size.width(), size.height()))
        gen.setTitle("VAE Explorer latent space")
        cloud = self.scatter.cloud
        cloud.setExportMode(True, {})
        try:
            p = QPainter(gen)
            view.render(p)
            p.end()
        finally:
            cloud.setExportMode(False)
        if not Path(path).is_file():
            raise OSError("the SVG file was not written")

    def export_latents(self, path: str | Path) -> bool:
        """Write the test set's latents (mu, logvar, label) as CSV."""
        if self.latents is None or self.test_set is None:
            return False
        try:
            write_latents_csv(
                path, self.latents[0], self.latents[1], self.test_set.labels, self.test_set.classes
            )
        except OSError as exc:
            self.show_error("Export failed", f"{path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Exported {path}", 8000)
        return True

    def _on_export_triggered(self, kind: str) -> None:
        flt = "PNG image (*.png)" if kind == "png" else "SVG drawing (*.svg)"
        path, _ = QFileDialog.getSaveFileName(self, "Export view", self._last_dir(), flt)
        if path:
            if not path.lower().endswith("." + kind):
                path += "." + kind
            self._remember_dir(path)
            self.export_view(path)

    def _on_export_csv_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export latents", self._last_dir(), "CSV (*.csv)")
        if path:
            self._remember_dir(path)
            self.export_latents(path if path.endswith(".csv") else path + ".csv")

    def _on_open_folder_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the four IDX files", self._last_dir())
        if folder:
            self.set_dataset(folder)

    def _on_about_triggered(self) -> None:
        QMessageBox.about(
            self,
            "About VAE Explorer",
            f"<b>VAE Explorer {__version__}</b><p>Train a variational auto-encoder "
            "(Kingma &amp; Welling, 2014) and look inside it: live curves, the latent space, "
            "click-and-drag decoding, the latent manifold, painting and imputation.</p>"
            f"<p>Python {sys.version.split()[0]} · PyTorch {torch.__version__}</p>",
        )

    # --- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop a running training and wait for its thread, then save the layout."""
        self._closing = True
        self.save_settings()
        if self.canvas is not None and hasattr(self.canvas, "shutdown"):
            self.canvas.shutdown()
        if self.downloader.is_running():
            self.downloader.cancel(wait_ms=CLOSE_WAIT_MS)
        if not self.runner.stop(wait_ms=CLOSE_WAIT_MS):
            self.statusBar().showMessage("Waiting for the training thread to stop…")
        super().closeEvent(event)

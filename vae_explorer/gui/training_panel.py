"""The training dock: hyper-parameters, start / pause / stop, progress with ETA, curves."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.data import DATASETS
from ..core.devices import available_devices
from ..core.model import VAEConfig
from ..core.rendering import eta_seconds, format_duration
from ..core.training import BatchMetrics, EpochSummary, TrainConfig, TrainingStarted
from .curves import TrainingCurves
from .training_worker import TrainingJob

LIKELIHOOD_CHOICES = [
    ("Cross-entropy (Bernoulli)", "bernoulli"),
    ("Squared error (Gaussian)", "gaussian"),
]
ARCH_CHOICES = [("MLP", "mlp"), ("Convolutional", "conv")]


class TrainingPanel(QWidget):
    """Form + controls + progress + live curves. It asks; the window's runner trains.

    ``startRequested(job)``, ``pauseRequested(bool pause)``, ``stopRequested()``.
    """

    startRequested = Signal(object)
    pauseRequested = Signal(bool)
    stopRequested = Signal()
    datasetChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset = QComboBox()
        for name, info in DATASETS.items():
            self.dataset.addItem(info.title, name)
        self.dataset.setToolTip("Training data (also shown in the latent scatter)")
        self.likelihood = QComboBox()
        for text, value in LIKELIHOOD_CHOICES:
            self.likelihood.addItem(text, value)
        self.likelihood.setToolTip(
            "Decoder likelihood p(x|z): Bernoulli = cross-entropy loss, Gaussian = squared-error loss"
        )
        self.latent_dim = self._int_spin(1, 64, 2, "Dimensions of z (2 shows the latent space directly)")
        self.hidden_dim = self._int_spin(8, 4096, 256, "Hidden units of encoder and decoder")
        self.arch = QComboBox()
        for text, value in ARCH_CHOICES:
            self.arch.addItem(text, value)
        self.epochs = self._int_spin(1, 10_000, 20, "Passes over the training set")
        self.batch_size = self._int_spin(1, 60_000, 100, "Images per gradient step")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 1.0)
        self.lr.setSingleStep(0.0005)
        self.lr.setValue(TrainConfig.lr)
        self.lr.setToolTip("Peak Adam learning rate, annealed to 0 over the run by a cosine")
        self.beta = QDoubleSpinBox()
        self.beta.setDecimals(3)
        self.beta.setRange(0.0, 100.0)
        self.beta.setSingleStep(0.1)
        self.beta.setValue(1.0)
        self.beta.setToolTip("KL weight β (1 = the ELBO; > 1 = β-VAE)")
        self.seed = self._int_spin(0, 2**31 - 1, 0, "Random seed (initial weights, batches, noise)")
        self.device = QComboBox()
        for dev in available_devices():
            self.device.addItem(dev.upper() if dev != "mps" else "Apple GPU (MPS)", dev)
        self.device.setToolTip("Only devices present on this machine are offered")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Dataset", self.dataset)
        form.addRow("Likelihood", self.likelihood)
        form.addRow("Latent dim", self.latent_dim)
        form.addRow("Hidden units", self.hidden_dim)
        form.addRow("Architecture", self.arch)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("KL weight β", self.beta)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a new model with these settings")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the model so far is kept")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.curves = TrainingCurves()
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setToolTip("Exponential moving average of the per-batch curves")
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setEnabled(False)
        smooth = QHBoxLayout()
        smooth.addWidget(self.smooth_check)
        smooth.addWidget(self.smooth_slider, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.curves, 1)
        lay.addLayout(smooth)

        self.start_button.clicked.connect(self._on_start_clicked)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.stop_button.clicked.connect(self.stopRequested)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.smooth_check.toggled.connect(self._on_smoothing_changed)
        self.smooth_slider.valueChanged.connect(self._on_smoothing_changed)
        self._started_at = 0.0
        self._paused_for = 0.0
        self._paused_at: float | None = None
        self._total_batches = 0
        self.train_limit: int | None = None
        self.torch_threads: int | None = None
        self.set_running(False)

    @staticmethod
    def _int_spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        s.setToolTip(tip)
        s.setGroupSeparatorShown(True)
        return s

    # --- form ------------------------------------------------------------------------------
    def set_dataset(self, key: str, title: str | None = None) -> None:
        """Select ``key`` (adding it, e.g. a folder, when unknown) without re-emitting."""
        i = self.dataset.findData(key)
        if i < 0:
            self.dataset.addItem(title or key, key)
            i = self.dataset.count() - 1
        self.dataset.blockSignals(True)
        self.dataset.setCurrentIndex(i)
        self.dataset.blockSignals(False)

    def set_model_config(self, config: VAEConfig, train_config: dict | None = None) -> None:
        """Fill the form from an opened model (and the settings it was trained with)."""
        for combo, value in ((self.likelihood, config.likelihood), (self.arch, config.arch)):
            i = combo.findData(value)
            if i >= 0:
                combo.setCurrentIndex(i)
        self.latent_dim.setValue(config.latent_dim)
        self.hidden_dim.setValue(config.hidden_dim)
        tc = train_config or {}
        for spin, key in (
            (self.epochs, "epochs"),
            (self.batch_size, "batch_size"),
            (self.lr, "lr"),
            (self.beta, "beta"),
            (self.seed, "seed"),
        ):
            value = tc.get(key)
            # From a file: only finite numbers, clamped to the field's range before the cast.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, int) or math.isfinite(value):  # a huge int clamps fine
                value = min(max(value, spin.minimum()), spin.maximum())
                spin.setValue(type(spin.value())(value))

    def form_state(self) -> dict:
        """The form's values (for QSettings)."""
        return {
            "likelihood": self.likelihood.currentData(),
            "arch": self.arch.currentData(),
            "latent_dim": self.latent_dim.value(),
            "hidden_dim": self.hidden_dim.value(),
            "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "lr": self.lr.value(),
            "beta": self.beta.value(),
            "seed": self.seed.value(),
            "device": self.device.currentData(),
        }

    def restore_form_state(self, state: dict) -> None:
        """Undo :meth:`form_state`; unknown or invalid values are ignored."""
        try:
            config = VAEConfig(
                latent_dim=int(state.get("latent_dim", 2)),
                hidden_dim=int(state.get("hidden_dim", 256)),
                likelihood=str(state.get("likelihood", "bernoulli")),
                arch=str(state.get("arch", "mlp")),
            )
        except (ValueError, TypeError):
            return
        self.set_model_config(config, state)
        i = self.device.findData(state.get("device"))
        if i >= 0:
            self.device.setCurrentIndex(i)

    def job(self) -> TrainingJob:
        """The run described by the form (ConfigError for impossible values)."""
        key = self.dataset.currentData()
        name, root = (key, None) if key in DATASETS else ("mnist", key)
        model_config = VAEConfig(
            latent_dim=self.latent_dim.value(),
            hidden_dim=self.hidden_dim.value(),
            likelihood=self.likelihood.currentData(),
            arch=self.arch.currentData(),
        )
        batch = self.batch_size.value()
        train_config = TrainConfig(
            epochs=self.epochs.value(),
            batch_size=batch,
            lr=self.lr.value(),
            beta=self.beta.value(),
            seed=self.seed.value(),
            device=self.device.currentData(),
            # ~8 curve points and one scatter snapshot per epoch of 60,000 images (an epoch
            # takes well under a second here): the views stay live while the GUI thread's
            # share of the CPU (and GIL) stays small.
            log_every=max(1, 7500 // batch),
            snapshot_every=max(1, 60_000 // batch),
        )
        return TrainingJob(model_config, train_config, name, root, self.train_limit, self.torch_threads)

    def set_running(self, running: bool) -> None:
        for w in (
            self.dataset,
            self.likelihood,
            self.latent_dim,
            self.hidden_dim,
            self.arch,
            self.epochs,
            self.batch_size,
            self.lr,
            self.beta,
            self.seed,
            self.device,
        ):
            w.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)

    # --- progress (called by the window with the runner's events) --------------------------
    def on_started(self, ev: TrainingStarted) -> None:
        self._started_at = time.perf_counter()
        self._paused_for, self._paused_at = 0.0, None
        self._total_batches = ev.epochs * ev.batches_per_epoch
        self.progress.setRange(0, self._total_batches)
        self.progress.setValue(0)
        self.progress.setFormat(f"epoch 1/{ev.epochs}")
        self.status.setText(
            f"Training on {ev.device.upper()}: {ev.train_images:,} images, "
            f"{ev.batches_per_epoch} batches per epoch"
        )

    def on_batch(self, ev: BatchMetrics) -> None:
        self.curves.add_batch(ev.progress, ev.loss, ev.recon, ev.kl)
        done = (ev.epoch - 1) * ev.batches_per_epoch + ev.batch
        self.progress.setValue(done)
        elapsed = time.perf_counter() - self._started_at - self._paused_for
        eta = format_duration(eta_seconds(done, self._total_batches, elapsed))
        epochs = max(1, self._total_batches // ev.batches_per_epoch)
        self.progress.setFormat(
            f"epoch {ev.epoch}/{epochs} · batch {ev.batch}/{ev.batches_per_epoch} · ETA {eta}"
        )
        self.status.setText(
            f"loss {ev.loss:.1f} · recon {ev.recon:.1f} · KL {ev.kl:.2f} · {ev.images_per_second:,.0f} img/s"
        )

    def on_epoch(self, ev: EpochSummary) -> None:
        if ev.test_elbo is not None:
            self.curves.add_test(ev.epoch, -ev.test_elbo)

    def on_done(self, stopped: bool, epochs: int, failed: bool) -> None:
        self.set_running(False)
        word = "failed" if failed else ("stopped" if stopped else "finished")
        self.progress.setFormat(f"{word} after {epochs} epoch(s)")
        if not stopped and not failed:
            self.progress.setValue(self.progress.maximum())

    # --- slots -----------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        try:
            job = self.job()
        except ValueError as exc:
            self.status.setText(f"<span style='color:#ff7b72'>{exc}</span>")
            return
        self.curves.clear_data()
        self.progress.setFormat("loading data…")
        self.startRequested.emit(job)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        now = time.perf_counter()
        if paused:
            self._paused_at = now
        elif self._paused_at is not None:
            self._paused_for += now - self._paused_at
            self._paused_at = None
        self.pauseRequested.emit(paused)

    def _on_dataset_changed(self, _index: int) -> None:
        self.datasetChanged.emit(self.dataset.currentData())

    def _on_smoothing_changed(self) -> None:
        on = self.smooth_check.isChecked()
        self.smooth_slider.setEnabled(on)
        self.curves.set_smoothing(self.smooth_slider.value() / 100 if on else 0.0)

"""The training dock: the run's settings, start / pause / stop, the live readout, curves.

The panel asks and shows; the window's training controller trains. It follows the state:
its buttons follow ``trainingChanged``, the dataset combo follows ``datasetChanged``, an
opened model fills the form and clears the last run's readout, an opened model's history
fills the curves. The controller feeds the live run in through :meth:`on_started`,
:meth:`on_batch`, :meth:`on_epoch` and :meth:`on_done` with core's events. An M1+M2 run's
first epochs train M1 (core's events count them with M2's): :meth:`on_started` is told how
many, and the readout and the curves name the two phases.

The form folds away behind its "Settings" header, leaving a one-line summary: a run that
starts while the dock is too short to show everything folds it (the settings are locked
then anyway) so that the curves get the room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.data import DatasetError, DatasetRef
from ...core.labelled import LabelledConfig, LabelledJob
from ...core.model import VAEConfig
from ...core.training import BatchMetrics, EpochSummary, TrainingJob, TrainingStarted
from ..labelled import is_labelled
from ..labels import ElidedLabel
from ..state import ExplorerState
from ..tooltips import wrapped
from .curves import TrainingCurves
from .training_form import TrainingForm
from .training_readout import TrainingReadout


class TrainingPanel(QWidget):
    """Form + controls + progress + live curves.

    ``startRequested(job)`` (a core ``TrainingJob``), ``pauseRequested(bool pause)``,
    ``stopRequested()``, ``datasetRequested(key)`` (the user picked another dataset: the
    window loads it into the state; the combo shows the state's dataset either way).
    """

    startRequested = Signal(object)
    pauseRequested = Signal(bool)
    stopRequested = Signal()
    datasetRequested = Signal(str)

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        # The window's say before a run replaces the current model (an unsaved one: Save /
        # Discard / Cancel); asked before the panel clears anything.
        self.may_start: Callable[[TrainingJob | LabelledJob], bool] = lambda job: True
        self.form = f = TrainingForm()
        # The fields, by name, for the window's settings and for tests.
        self.dataset, self.likelihood, self.arch, self.device = f.dataset, f.likelihood, f.arch, f.device
        self.kind, self.labels, self.classifier_dropout = f.kind, f.labels, f.classifier_dropout
        self.latent_dim, self.hidden_dim, self.epochs = f.latent_dim, f.hidden_dim, f.epochs
        self.m1_epochs = f.m1_epochs
        self.batch_size, self.lr, self.beta, self.seed = f.batch_size, f.lr, f.beta, f.seed

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a new model with these settings")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Hold the run; again to go on")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the model so far is kept")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        self.readout = TrainingReadout()
        self.progress, self.status = self.readout.progress, self.readout.status

        self.curves = TrainingCurves()
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setToolTip("Exponential moving average of the per-batch curves")
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setEnabled(False)
        self.smooth_slider.setToolTip(
            "How much the per-batch curves are smoothed: the weight the moving average gives "
            "the batches before (0 at the left, 0.99 at the right); with Smooth ticked"
        )
        smooth = QHBoxLayout()
        smooth.addWidget(self.smooth_check)
        smooth.addWidget(self.smooth_slider, 1)

        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setAutoRaise(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.settings_toggle.setToolTip("Show or fold away the settings of the next run")
        self.summary = ElidedLabel()
        self.summary.setStyleSheet("color: #9a9a9a;")
        header = QHBoxLayout()
        header.setSpacing(4)
        header.addWidget(self.settings_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        header.addWidget(self.summary, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(header)
        lay.addWidget(self.form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.curves, 1)
        lay.addLayout(smooth)

        self.train_limit: int | None = None  # use only the first N training images (tests, demos)
        self.torch_threads: int | None = None  # the run's intra-op threads; None = torch's default
        self._model_version = -1  # the last model seen, so a re-save is not a "new model"
        self._asked_m1_epochs = 0  # the M1 epochs of the run the Start button last asked for

        self.settings_toggle.clicked.connect(lambda: self.set_settings_shown(not self.settings_shown()))
        for field in f.fields():
            if isinstance(field, QComboBox):
                field.currentIndexChanged.connect(self._show_summary)
            elif isinstance(field, QAbstractSpinBox):
                field.valueChanged.connect(self._show_summary)  # type: ignore[attr-defined]
        self._show_summary()
        self.set_settings_shown(True)
        self.start_button.clicked.connect(self._on_start_clicked)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.stop_button.clicked.connect(self.stopRequested)
        self.dataset.currentIndexChanged.connect(self._on_dataset_index_changed)
        self.smooth_check.toggled.connect(self._on_smoothing_changed)
        self.smooth_slider.valueChanged.connect(self._on_smoothing_changed)
        state.trainingChanged.connect(self._on_training_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        state.modelChanged.connect(self._on_model_changed)
        state.historyChanged.connect(self._on_history_changed)
        self._show_dataset()
        self.set_running(state.training)
        self._on_model_changed()
        self._on_history_changed()

    # --- the form --------------------------------------------------------------------------
    def set_model_config(
        self, config: VAEConfig | LabelledConfig, train_config: dict[str, Any] | None = None
    ) -> None:
        """Fill the form from a model's config (and the settings it was trained with)."""
        self.form.set_model_config(config, train_config)

    def form_state(self) -> dict[str, Any]:
        """The form's values (for QSettings)."""
        return self.form.form_state()

    def restore_form_state(self, state: object) -> None:
        """Undo :meth:`form_state`; values of the wrong type or out of range are ignored."""
        self.form.restore_form_state(state)

    def job(self) -> TrainingJob | LabelledJob:
        """The run described by the form (ConfigError for impossible values)."""
        return self.form.job(self.train_limit, self.torch_threads)

    def set_running(self, running: bool) -> None:
        """Lock the form and Start while a run trains; Pause and Stop only then."""
        # The focus on a button being disabled went to the next control Qt found
        # ("Smooth", which a Space then toggled): it goes to the button that now acts.
        leaving = (self.start_button,) if running else (self.pause_button, self.stop_button)
        had_focus = any(b.hasFocus() for b in leaving)
        self.form.set_enabled(not running)
        target = self.pause_button if running else self.start_button
        target.setEnabled(True)
        if had_focus:
            target.setFocus()
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        if not running:
            with QSignalBlocker(self.pause_button):
                self.pause_button.setChecked(False)
                self.pause_button.setText("Pause")

    def _show_dataset(self) -> None:
        """Select the state's dataset in the combo (adding a folder's entry) silently."""
        key = self._state.dataset_key
        i = self.dataset.findData(key)
        if i < 0:
            try:
                title = DatasetRef.from_key(key).title
            except DatasetError:
                return
            self.dataset.addItem(title, key)
            i = self.dataset.count() - 1
        with QSignalBlocker(self.dataset):
            self.dataset.setCurrentIndex(i)

    def settings_shown(self) -> bool:
        return not self.form.isHidden()

    def set_settings_shown(self, shown: bool) -> None:
        """Show the form, or fold it away behind its one-line summary."""
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.form.setVisible(shown)
        self.summary.setVisible(not shown)

    def _show_summary(self) -> None:
        text = self.form.summary()
        self.summary.setText(text)
        self.summary.setToolTip(wrapped(text))  # (all of it where the dock cuts it)

    def _scrolls(self) -> bool:
        """Whether the dock shows only part of the panel (its scroll area scrolls)."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        return parent is not None and parent.isVisible() and parent.verticalScrollBar().maximum() > 0

    # --- the run (called by the window's training controller with core's events) ----------
    def on_started(self, ev: TrainingStarted, m1_epochs: int | None = None) -> None:
        """``m1_epochs``: an M1+M2 run's M1 epochs (the job's ``m1_epochs_to_run``); None:
        those of the run the Start button asked for."""
        m1 = self._asked_m1_epochs if m1_epochs is None else m1_epochs
        self.readout.on_started(ev, m1)
        self.curves.set_m2_start(self.readout.m1_epochs or None)

    def on_batch(self, ev: BatchMetrics) -> None:
        self.curves.add_batch(ev.progress, ev.loss, ev.recon, ev.kl)
        self.readout.on_batch(ev)

    def on_epoch(self, ev: EpochSummary) -> None:
        if ev.test_elbo is not None:
            self.curves.add_test(ev.epoch, -ev.test_elbo)
        self.readout.on_epoch(ev)

    def on_done(self, stopped: bool, epochs: int, failed: bool) -> None:
        self.set_running(False)
        self.readout.on_done(stopped, epochs, failed)

    # --- slots -----------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        try:
            job = self.job()
        except ValueError as exc:
            self.readout.show_error(str(exc))
            return
        if not self.may_start(job):
            return
        self.curves.clear_data()
        self.readout.loading()
        labelled = isinstance(job, LabelledJob)
        self.curves.set_labelled(labelled)
        self.readout.labelled = labelled
        self._asked_m1_epochs = job.m1_epochs_to_run if isinstance(job, LabelledJob) else 0
        self.startRequested.emit(job)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.readout.set_paused(paused)
        self.pauseRequested.emit(paused)

    def _on_dataset_index_changed(self, _index: int) -> None:
        self.datasetRequested.emit(str(self.dataset.currentData()))
        self._show_dataset()  # a refused request leaves the state's dataset selected

    def _on_smoothing_changed(self) -> None:
        on = self.smooth_check.isChecked()
        self.smooth_slider.setEnabled(on)
        self.curves.set_smoothing(self.smooth_slider.value() / 100 if on else 0.0)

    def _on_training_changed(self, running: bool) -> None:
        self.set_running(running)
        if running and self.settings_shown() and self._scrolls():
            self.set_settings_shown(False)  # the curves get the room while the form is locked
        if running:  # a new run: nothing of the last one stays on show
            self.curves.clear_data()
            self.readout.loading()
        elif self.curves.is_empty():  # it ended before its first batch (a bad file...):
            self.curves.set_history(self._state.history)  # the model put back has its own

    def _on_dataset_changed(self) -> None:
        self._show_dataset()

    def _on_model_changed(self) -> None:
        """A model opened (not a snapshot or the end of a run, nor a re-save): the form
        shows its settings and the last run's readout goes."""
        s = self._state
        new = s.model_version != self._model_version
        self._model_version = s.model_version
        if not new or s.live or s.training or s.model is None or getattr(s.model, "config", None) is None:
            return  # (a user's own model from explore() has no app config to show)
        meta = s.model_meta
        train_config = meta.get("train_config")
        labels = "all" if meta.get("all_labels") is True else meta.get("labels")
        self.form.set_model_config(
            s.model.config, train_config if isinstance(train_config, dict) else None, labels,
            meta.get("m1_epochs"),
        )  # fmt: skip
        self.curves.set_labelled(is_labelled(s.model))
        self.readout.clear()

    def _on_history_changed(self) -> None:
        if not self._state.training:  # while training the run's own events draw the curves
            self.curves.set_history(self._state.history)
        else:  # a labelled run's test error comes in its snapshots' history records
            self.curves.set_test_errors(self._state.history)
            errors = [r.get("test_error") for r in self._state.history if isinstance(r, dict)]
            errors = [e for e in errors if isinstance(e, float)]
            self.readout.test_error = errors[-1] if errors else None

"""The status bar: the current model, dataset, device and epoch; and what the window shows
of a training run outside the training dock (pause/resume and end-of-run messages, the
menus locked while it trains). An M1+M2 run's epochs are named by phase ("M1 epoch: 12/30",
then "M2 epoch: 1/1"; at the end "Epochs: M1 30, M2 1"), as the training dock names them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from ...core.data import cannot_train_on
from ..images import QWIDGETSIZE_MAX
from ..labels import ElidedLabel
from .unsaved import NEW_RUN

if TYPE_CHECKING:
    from ...core.labelled import LabelledJob
    from ...core.training import BatchMetrics, TrainingFinished, TrainingJob, TrainingStarted
    from .main_window import MainWindow

KIND_NAMES = {"m1m2": "M1+M2"}  # as the training form names it; others upper-cased


MESSAGE_LEFT = 6  # where QStatusBar draws a message
MESSAGE_PADDING = 16  # pixels between a message and the first label
LEAST_LABEL = 90  # the narrowest a shrunk label gets


class _RoomForMessages(QObject):
    """While the status bar shows a message, the model and data labels give up the room it
    needs (elided, no narrower than LEAST_LABEL each); they are whole again once it goes.
    Permanent widgets otherwise keep their room and cut the message ("Opened /work/ma").
    Refitted when the bar is resized or lays its labels out anew (a label's text changed)."""

    def __init__(self, bar: QStatusBar, shrinkable: list[ElidedLabel], others: list[QWidget]) -> None:
        super().__init__(bar)
        self.bar, self.shrinkable, self.others = bar, shrinkable, others
        bar.messageChanged.connect(self.fit)
        bar.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            QTimer.singleShot(0, self, self.fit)  # once the bar has laid its widgets out anew
        return False

    def fit(self) -> None:
        if not shiboken6.isValid(self.bar):
            return  # (the window is being torn down: its bar first, this filter after)
        message = self.bar.currentMessage()
        labels = [*self.shrinkable, *self.others]
        # The bar's own room right of the first label: spacing, the size grip, margins.
        chrome = self.bar.width() - labels[0].geometry().left() - sum(w.width() for w in labels)
        wholes = [label.sizeHint().width() for label in self.shrinkable]
        room = self.bar.width() - chrome - sum(w.sizeHint().width() for w in self.others)
        if message:
            room -= MESSAGE_LEFT + self.bar.fontMetrics().horizontalAdvance(message) + MESSAGE_PADDING
        for label, whole in zip(self.shrinkable, wholes, strict=True):
            fair = int(room * whole / max(sum(wholes), 1))
            label.setMaximumWidth(QWIDGETSIZE_MAX if room >= sum(wholes) else max(fair, LEAST_LABEL))


def build_status_bar(window: MainWindow) -> None:
    bar = window.statusBar()
    window.model_label = ElidedLabel()
    window.dataset_label = ElidedLabel()
    window.device_label = QLabel("Device: CPU")
    window.epoch_label = QLabel()
    for w in (window.model_label, window.dataset_label, window.device_label, window.epoch_label):
        w.setContentsMargins(8, 0, 8, 0)
        bar.addPermanentWidget(w)
    window.status_room = _RoomForMessages(
        bar, [window.model_label, window.dataset_label], [window.device_label, window.epoch_label]
    )


def show_current_model(window: MainWindow) -> None:
    """The model's name and kind in the status bar and the title; its epochs when idle."""
    state = window.state
    model = state.model
    name = Path(state.model_path).name if state.model_path else "unsaved model"
    if model is None:
        if state.loading:
            window.model_label.setText(f"Model: {name} (loading…)")
            window.setWindowTitle(f"{name} — VAE Explorer")
        return
    c = model.config
    if c is None:  # a user's own module (explore()): no app config
        kind = type(getattr(model, "module", model)).__name__
        window.model_label.setText(f"Model: your {kind} (z={model.latent_dim})")
        window.setWindowTitle(f"{kind} — VAE Explorer")
        return
    like = "cross-entropy" if c.likelihood == "bernoulli" else "squared error"
    describe = getattr(c, "describe", None)  # a labelled model's config names its kind instead
    kind = str(getattr(c, "kind", "model"))
    what = describe() if describe else f"{KIND_NAMES.get(kind, kind.upper())}, z={c.latent_dim}"
    window.model_label.setText(f"Model: {name} ({what}, {like})")
    window.model_label.setToolTip(f"{name}: {what}, latent dimension {c.latent_dim}, {like} loss")
    window.setWindowTitle(f"{name} — VAE Explorer")
    if not state.training:
        window.epoch_label.setText(epochs_text(state.model_meta))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def epochs_text(meta: dict[str, Any], m1_done: int | None = None) -> str:
    """A model's epochs for the status bar: "Epochs: 30"; an M1+M2 model's by phase, "Epochs:
    M1 30, M2 1" (its M1's: ``m1_done``, else the "m1" records of its history, else the
    metadata's "m1_epochs"; a given M1 of unknown length, 0, is left out)."""
    m2 = _count(meta.get("epochs_completed")) or 0
    m1 = m1_done
    if m1 is None and meta.get("kind") == "m1m2":
        history = meta.get("history")
        records = history if isinstance(history, list) else []
        m1 = sum(1 for r in records if isinstance(r, dict) and r.get("phase") == "m1")
        m1 = m1 or _count(meta.get("m1_epochs"))
    return f"Epochs: M1 {m1}, M2 {m2}" if m1 else f"Epochs: {m2}"


def connect_run_status(window: MainWindow) -> None:
    """Wire the training panel's buttons and the controller's events to the window."""
    status = window.statusBar()
    panel, trainer = window.training, window.trainer

    def on_pause_requested(pause: bool) -> None:
        if pause:
            trainer.pause()
            status.showMessage("Training paused")
        else:
            trainer.resume()
            status.showMessage("Training resumed", 3000)

    readout = panel.readout  # it knows the run's phases (M1+M2: M1, then M2)

    def on_started(ev: TrainingStarted) -> None:
        # An M1+M2 run's first epochs train M1; core's events count them with M2's.
        m1 = getattr(trainer.job, "m1_epochs_to_run", 0)
        panel.on_started(ev, m1 if isinstance(m1, int) else 0)
        window.device_label.setText(f"Device: {ev.device.upper()}")
        window.epoch_label.setText(readout.epoch_text(1))
        window.epoch_label.setToolTip(readout.progress.toolTip())
        # Whatever the bar said of the model before ("Opened ...") is no longer on show.
        if trainer.paused:  # Pause was pressed while the data loaded: it still holds
            status.showMessage("Training paused before its first batch")
        else:
            status.showMessage("Training started: every view follows the new model as it learns", 8000)

    def on_batch(ev: BatchMetrics) -> None:
        # The epoch under way, as the progress bar says (not the last one finished).
        text = readout.epoch_text(ev.epoch)
        if window.epoch_label.text() != text:
            window.epoch_label.setText(text)

    def on_done(finished: TrainingFinished) -> None:
        failed = trainer.failed_run
        epochs = finished.epochs_completed
        panel.on_done(finished.stopped, epochs, failed)
        phases = readout.m1_epochs > 0
        m1_done = readout.m1_epochs_done if phases else None
        window.epoch_label.setText(epochs_text({"epochs_completed": epochs}, m1_done))
        window.epoch_label.setToolTip("")
        if not failed and not window.closing:
            done = readout.epochs_done(epochs)
            status.showMessage(
                f"Training {'stopped' if finished.stopped else 'finished'} "
                f"{f'({done})' if phases else done}: "
                "the new model is current; File ▸ Save model keeps it.",
                15000,
            )

    window.state.trainingChanged.connect(window.menus.while_training)

    def may_start(job: TrainingJob | LabelledJob) -> bool:
        refusal = cannot_train_on(job.dataset)
        if refusal is not None:  # before the question: a run that cannot start drops nothing
            window.show_error("Training", refusal)
            return False
        if not window.may_drop_model(NEW_RUN):
            return False
        window.files.cancel_opening("a new run started")  # the newest request wins
        return True

    panel.may_start = may_start
    panel.startRequested.connect(window.start_training)
    panel.pauseRequested.connect(on_pause_requested)
    panel.stopRequested.connect(window.stop_training)
    trainer.started.connect(on_started)
    trainer.batchMetrics.connect(panel.on_batch)
    trainer.batchMetrics.connect(on_batch)
    trainer.epochFinished.connect(panel.on_epoch)
    trainer.failed.connect(lambda message: window.show_error("Training stopped", message))
    trainer.done.connect(on_done)

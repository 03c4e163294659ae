"""The history timeline: scrub the scatter (and, where weights were kept, the grid and the
decoder) through the epochs of the model's training run.

The slider moves in 1/``STEPS_PER_EPOCH`` epochs, so points glide between the recorded
epochs (their positions are interpolated). Play steps through the run; reaching its end,
or "Live", returns to the model's current state. Space plays and pauses while the panel
has the focus. The panel draws from a :class:`HistoryScrub` and changes it only through
its setters.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..history_scrub import HistoryScrub
from ..labels import FixedLinesLabel

STEPS_PER_EPOCH = 20  # slider positions per epoch: smooth motion between recorded epochs
PLAY_TICK_MS = 40
PLAY_SECONDS = 8.0  # a whole run plays in about this long (at least one epoch a second)
# The export's progress text, longest first: the first that fits the bar is drawn.
PROGRESS_FORMATS = ("Exporting frame %v of %m", "Frame %v of %m", "%v / %m")
NO_HISTORY_TIP = (
    "This model was saved without a training history: train it (or open a model "
    "trained by this version) to watch its latent space organise."
)
LABELLED_TIP = (
    "Semi-supervised models (M2, M1+M2) record no training history: the timeline replays "
    "a VAE's run. Train or open a VAE to watch its latent space organise."
)


class ExportProgressBar(QProgressBar):
    """The export's progress, as narrow as its row leaves it: it never asks for room (its
    width is the layout's to give, so showing it cannot widen the dock or the window), and
    its text shortens to fit ("Exporting frame 3 of 40", "Frame 3 of 40", "3 / 40", then
    elided) rather than wrapping onto clipped lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFormat(PROGRESS_FORMATS[0])
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        room = self.width() - 8  # (the style's margins)
        metrics = self.fontMetrics()
        for fmt in PROGRESS_FORMATS:
            text = self._formatted(fmt)
            if metrics.horizontalAdvance(text) <= room:
                return text
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room, 0))

    def full_text(self) -> str:
        """The progress in words, whatever the width (also its tooltip)."""
        return self._formatted(PROGRESS_FORMATS[0])

    def _formatted(self, fmt: str) -> str:
        return fmt.replace("%v", str(self.value())).replace("%m", str(self.maximum()))


class TimelinePanel(QWidget):
    """Slider over the recorded epochs, play / pause, live, and what is on show."""

    exportRequested = Signal()  # "Export animation...": the window asks for a file
    cancelRequested = Signal()  # the export's Cancel

    def __init__(self, scrub: HistoryScrub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scrub = scrub
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip(
            "Scrub through the training run: the scatter shows the test latents at that epoch"
        )
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the run from the scrubbed epoch (Space)")
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Back to the model's current state")
        self.export_button = QPushButton("Animation…")
        self.export_button.setToolTip("Export animation: the organising latent space as a GIF or MP4")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the export (nothing is written)")
        self.cancel_button.setVisible(False)
        # While exporting, the progress and Cancel take the place of the row's labels and
        # the export button: a progress bar as wide as its text (plus Cancel) beside them
        # raised the dock's minimum width, and a 1024 px window grew past its screen.
        self.progress = ExportProgressBar()
        self.progress.setVisible(False)
        self.epoch_label = QLabel()
        # On a line of its own under the epoch, wrapped (beside it, and elided, it showed
        # "decoded with…" in a 1024-px window), with a fixed room so nothing moves when
        # it changes; never as wide as its text (that pushed the centre column wider).
        self.weights_label = FixedLinesLabel(2)
        self.weights_label.setStyleSheet("color: palette(mid);")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.live_button)
        info = QHBoxLayout()
        info.setContentsMargins(0, 0, 0, 0)
        info.setSpacing(12)
        info.addWidget(self.epoch_label, 1)
        info.addWidget(self.progress, 1)
        info.addWidget(self.cancel_button)
        info.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addLayout(info)
        lay.addWidget(self.weights_label)
        lay.addStretch(1)  # a tall dock keeps the controls together at its top

        self._timer = QTimer(self)
        self._timer.setInterval(PLAY_TICK_MS)
        self._timer.timeout.connect(self._advance)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        space.activated.connect(self.play_button.click)

        self.slider.valueChanged.connect(self._on_slider_moved)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.live_button.clicked.connect(self.go_live)
        self.export_button.clicked.connect(self.exportRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        scrub.historyChanged.connect(self._on_history_changed)
        scrub.epochChanged.connect(self._on_epoch_changed)
        scrub.weightsRefused.connect(self._on_weights_refused)  # (the label says so)
        self._on_history_changed()

    # --- for the window and tests ----------------------------------------------------------
    def position_epoch(self, value: int | None = None) -> float:
        """The epoch of a slider position (default: the current one)."""
        return (self.slider.value() if value is None else value) / STEPS_PER_EPOCH

    def set_epoch(self, t: float) -> None:
        """Move the slider to epoch ``t`` (what a drag does)."""
        self.slider.setValue(round(t * STEPS_PER_EPOCH))

    def go_live(self) -> None:
        self.play_button.setChecked(False)
        self.scrub.go_live()

    def show_progress(self, done: int, total: int) -> None:
        """An export is writing frame ``done`` of ``total``."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setToolTip(self.progress.full_text())
        self._show_exporting(True)

    def hide_progress(self) -> None:
        self._show_exporting(False)

    def _show_exporting(self, on: bool) -> None:
        # (The epoch label too: beside it, on a 1024 px screen's 300 px dock, the bar had
        # room for "8…" only; the slider still shows where the timeline is.)
        exporting = (self.progress, self.cancel_button)
        idle = (self.epoch_label, self.weights_label, self.export_button)
        # Hide before showing: showing a widget lays the window out at once, and both sets
        # on show together, for a moment, raised the dock's minimum width (the window
        # then moved its docks' splitters, and they stayed moved).
        for w in idle if on else exporting:
            w.setVisible(False)
        for w in exporting if on else idle:
            w.setVisible(True)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    # --- scrub -> view ---------------------------------------------------------------------
    def _on_history_changed(self) -> None:
        first, last = self.scrub.first, self.scrub.last
        has = first is not None and last is not None
        for w in (self.slider, self.play_button, self.export_button):
            w.setEnabled(has and last != first if w is not self.export_button else has)
        if first is None or last is None:
            self.play_button.setChecked(False)
            self.live_button.setEnabled(False)  # (live is all there is)
            self._say_no_history()
            return
        with QSignalBlocker(self.slider):
            self.slider.setRange(first * STEPS_PER_EPOCH, last * STEPS_PER_EPOCH)
            self.slider.setPageStep(STEPS_PER_EPOCH)
            self.slider.setSingleStep(1)
        self._on_epoch_changed()

    def _say_no_history(self) -> None:
        """Why there is nothing to scrub: a labelled model's run records no history (training
        it would not make one); a VAE saved without one can be trained to record one."""
        if self.scrub.error is not None:
            self.epoch_label.setText("No training history")
            self.weights_label.setText("(unreadable)")
            self.weights_label.setToolTip(f"The history cannot be read: {self.scrub.error}")
        elif self.scrub.other_data is not None:
            other = self.scrub.other_data
            self.epoch_label.setText(f"A run on {other}")
            self.weights_label.setText("not the data on show")
            self.weights_label.setToolTip(
                f"This model's training history holds the latents of the test images of {other}: "
                "show that dataset to replay the run (coloured by these images' labels the points "
                "would be wrong)"
            )
        elif _labelled_model_on_show(self.scrub):
            self.epoch_label.setText("No timeline")
            self.weights_label.setText("labelled models (M2, M1+M2) record none to replay")
            self.weights_label.setToolTip(LABELLED_TIP)
        else:
            self.epoch_label.setText("No training history")
            self.weights_label.setText("train to record one")
            self.weights_label.setToolTip(NO_HISTORY_TIP)

    def _on_weights_refused(self, _why: str) -> None:
        self._on_epoch_changed()

    def _on_epoch_changed(self) -> None:
        t, last = self.scrub.epoch, self.scrub.last
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.slider.maximum() if t is None else round(t * STEPS_PER_EPOCH))
        self.live_button.setEnabled(t is not None)
        if last is None:
            return
        if t is None:
            self.epoch_label.setText(f"Live · {last} epoch{'s' if last != 1 else ''} recorded")
            self.weights_label.setText("")
            return
        self.epoch_label.setText(f"Epoch {t:.1f} / {last}" if t % 1 else f"Epoch {int(t)} / {last}")
        kept = self.scrub.weights_epoch()
        problem = self.scrub.weights_problem()
        if kept is not None and problem is not None:
            self.weights_label.setText(f"epoch {kept}'s weights damaged: current weights")
            self.weights_label.setToolTip(problem)
        elif kept is None:
            self.weights_label.setText("current weights")
            self.weights_label.setToolTip(
                "No weights were kept this early: the grid and decoder show the current model"
            )
        else:
            # The points are this epoch's; the decoders use the nearest weights kept before.
            self.weights_label.setText(f"decoded with epoch {kept}'s weights" if kept != t else "")
            self.weights_label.setToolTip(
                f"The grid and the decoder preview use the weights kept after epoch {kept} "
                "(the latest kept at or before the scrubbed epoch)"
            )

    # --- view -> scrub ---------------------------------------------------------------------
    def _on_slider_moved(self, value: int) -> None:
        if value >= self.slider.maximum() and not self.playing:
            self.scrub.go_live()  # the end of the timeline is the model as it is now
        else:
            self.scrub.set_epoch(self.position_epoch(value))

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if not on:
            self._timer.stop()
            return
        if self.scrub.first is None:
            self.play_button.setChecked(False)
            return
        if self.scrub.epoch is None or self.slider.value() >= self.slider.maximum():
            self.scrub.set_epoch(float(self.scrub.first))  # play from the start
        self._timer.start()

    def _advance(self) -> None:
        first, last = self.scrub.first, self.scrub.last
        if first is None or last is None:
            self.play_button.setChecked(False)
            self.live_button.setEnabled(False)  # (live is all there is)
            return
        span = max(last - first, 1)
        per_tick = max(span / (PLAY_SECONDS * 1000 / PLAY_TICK_MS), PLAY_TICK_MS / 1000)
        t = (self.scrub.epoch if self.scrub.epoch is not None else first) + per_tick
        if t >= last:
            self.play_button.setChecked(False)
            self.scrub.go_live()
            return
        self.scrub.set_epoch(t)


def _labelled_model_on_show(scrub: HistoryScrub) -> bool:
    """Whether the model whose history ``scrub`` follows is a labelled one (M2, M1+M2)."""
    model = scrub.state.model
    if model is None:
        return False
    from ..labelled import is_labelled  # (torch, loaded with any model: not at start-up)

    return is_labelled(model)

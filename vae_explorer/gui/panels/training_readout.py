"""The live readout of a training run: a progress bar (epoch, batch, ETA) and one status
line (loss terms and speed). After the run it says how it ended and the run's average
speed: images trained / wall time of the run with pauses left out (the last batch
window's speed, shown while training, says little about a whole run).

The status line has room for two lines (it never grows the dock); a longer text shows its
first two lines, with all of it in the tooltip, and the speed comes last on the first.

An M1+M2 run (``m1_epochs`` given to :meth:`TrainingReadout.on_started`) trains M1, the VAE
under M2, for its first epochs, then M2: the bar, the status bar's epoch and the end of the
run name the phase and count each phase's epochs; until M2's first epoch ends a second line
says the views show M2, untrained until then (they follow M1's training meanwhile)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressBar

from ...core.rendering import eta_seconds, format_duration
from ...core.training import BatchMetrics, EpochSummary, TrainingStarted
from ..labels import FixedLinesLabel

M1_NAME = "M1 (the VAE under M2)"
VIEWS_NOTE = "Views show M2, untrained until its first epoch ends"
M1_STOPPED_NOTE = "M2 never trained: the views show it untrained"


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


class TrainingReadout:
    """Owns ``progress`` and ``status`` (the panel lays them out) and the run's clock."""

    def __init__(self) -> None:
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        # Wrapped (a long line widened the dock past its scroll area) in a room of two
        # lines: a wrapped summary asked for five and took them from the curves.
        self.status = FixedLinesLabel(2)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._started_at = 0.0
        self._paused_for = 0.0
        self._paused_at: float | None = None
        self._running_format = ""  # the bar's text as it would read if not paused
        self._total_batches = 0
        self._epochs = 0
        self._batches_per_epoch = 1  # the run's (M1+M2: M2's), as the bar counts
        self.m1_epochs = 0  # M1+M2: the run's first epochs, M1's (0: no phases)
        self._m1_done = 0  # M1 epochs finished (their EpochSummary came)
        self._m2_started = False  # an M2 epoch finished: the views show M2
        self._running = False
        self._images_per_batch = 0.0
        self._last: BatchMetrics | None = None  # the run's latest batch event
        self._done_batches = 0
        self._elapsed = 0.0  # run time (pauses excluded) at the latest batch event
        self._pace_from: tuple[int, float] | None = None  # (batches, run time) at the first event
        self.labelled = False  # a labelled model's run (M2, M1+M2): its own words
        self.test_error: float | None = None  # a labelled run's latest test error (fraction)
        self.clear()

    def clear(self) -> None:
        """Back to "idle" with no text: nothing left over from an earlier run."""
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status.setText("")
        self.progress.setToolTip("")
        self._last = None
        self._paused_at = None  # (a run stopped while paused leaves Pause unchecked silently)
        self.test_error = None
        self.m1_epochs, self._m1_done, self._running, self._m2_started = 0, 0, False, False

    def loading(self) -> None:
        """A run was asked for: say so at once, before its first event arrives."""
        self.clear()
        self.progress.setFormat("loading data…")

    def show_error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#ff7b72'>{message}</span>")

    # --- the run's clock -------------------------------------------------------------------
    def _now(self) -> float:
        """Seconds since the run started, pauses excluded."""
        now = time.perf_counter()
        paused = self._paused_for + (now - self._paused_at if self._paused_at is not None else 0.0)
        return now - self._started_at - paused

    def set_paused(self, paused: bool) -> None:
        now = time.perf_counter()
        if paused and self._paused_at is None:
            self._paused_at = now
            self._set_running_format(self.progress.format())
            self._show_latest(None)  # the last window's speed would read as the speed now
        elif not paused and self._paused_at is not None:
            self._paused_for += now - self._paused_at
            self._paused_at = None
            self._set_running_format(self._running_format)

    def _set_running_format(self, text: str) -> None:
        """The bar's text for a running run; while paused, without an ETA (nothing moves)
        and saying so."""
        self._running_format = text
        paused = self._paused_at is not None
        self.progress.setFormat(text.split(" · ETA")[0] + " · paused" if paused else text)

    # --- phases (M1+M2) ---------------------------------------------------------------------
    def phase_epoch(self, epoch: int) -> tuple[str, int, int]:
        """The run's ``epoch`` (1-based, over the whole run) as (phase, epoch, epochs) of
        its phase: ("M1", 12, 30), ("M2", 1, 1); ("", epoch, epochs) without phases."""
        m1 = self.m1_epochs
        if not m1:
            return "", epoch, self._epochs
        if epoch <= m1:
            return "M1", epoch, m1
        return "M2", epoch - m1, max(self._epochs - m1, 0)

    def epoch_text(self, epoch: int) -> str:
        """The status bar's words for the epoch under way: "Epoch: 11/50", "M1 epoch: 12/30"."""
        phase, n, of = self.phase_epoch(epoch)
        return f"{phase} epoch: {n}/{of}" if phase else f"Epoch: {n}/{of}"

    def epochs_done(self, epochs: int) -> str:
        """How much a run that trained ``epochs`` (M2's, for M1+M2) trained: "after 2 epochs",
        or each phase's: "M1 30 epochs, M2 1 epoch"."""
        if not self.m1_epochs:
            return f"after {_epochs(epochs)}"
        return f"M1 {_epochs(self._m1_done)}, M2 {_epochs(epochs)}"

    @property
    def m1_epochs_done(self) -> int:
        """An M1+M2 run's M1 epochs finished so far."""
        return self._m1_done

    def _in_m1(self) -> bool:
        return bool(self.m1_epochs) and (self._last is None or self._last.epoch <= self.m1_epochs)

    # --- events ----------------------------------------------------------------------------
    def on_started(self, ev: TrainingStarted, m1_epochs: int = 0) -> None:
        """A run began; ``m1_epochs``: an M1+M2 run's M1 epochs, its first (core's events
        count the run's epochs, M1's and M2's together)."""
        self._started_at = time.perf_counter()
        # Paused while its data loaded: the run starts paused (its loop waits before the
        # first batch), and the clock starts stopped.
        self._paused_for = 0.0
        self._paused_at = self._started_at if self._paused_at is not None else None
        self._total_batches = ev.epochs * ev.batches_per_epoch
        self._batches_per_epoch = max(ev.batches_per_epoch, 1)
        self._epochs = ev.epochs  # all of the run's (M1+M2: M1's and M2's)
        self.m1_epochs = m1_epochs if 0 < m1_epochs < ev.epochs else 0
        self._m1_done, self._running, self._m2_started = 0, True, False
        self._images_per_batch = ev.train_images / self._batches_per_epoch
        self._last, self._done_batches, self._elapsed = None, 0, 0.0
        self._pace_from = None
        self.progress.setRange(0, max(self._total_batches, 1))
        self.progress.setValue(0)
        self._set_running_format(self._bar_epoch(1))
        where = f"Training on {ev.device.upper()}: {ev.train_images:,} images"
        if self.m1_epochs:
            m2 = ev.epochs - self.m1_epochs
            self.progress.setToolTip(
                f"First {M1_NAME}, {_epochs(self.m1_epochs)} on every image; then M2 on M1's "
                f"latents, {_epochs(m2)}"
            )
            self.status.setText(
                f"{where}; first {M1_NAME}, {_epochs(self.m1_epochs)}, then M2, {_epochs(m2)}"
            )
        else:
            self.progress.setToolTip("")
            self.status.setText(f"{where}, {ev.batches_per_epoch} batches per epoch")
        if self._paused_at is not None:
            self.status.setText(f"{self.status.text()}\nPaused before the first batch: Resume (F6) starts it")

    def _bar_epoch(self, epoch: int) -> str:
        phase, n, of = self.phase_epoch(epoch)
        return f"{phase + ' ' if phase else ''}epoch {n}/{of}"

    def on_batch(self, ev: BatchMetrics) -> None:
        # In the run's batches (M1+M2: M2's; M1's epochs have batches of their own).
        done = round(ev.progress * self._batches_per_epoch)
        phase = self.phase_epoch(ev.epoch)[0]
        new_phase = self._last is not None and self.phase_epoch(self._last.epoch)[0] != phase
        self._last, self._done_batches, self._elapsed = ev, done, self._now()
        self.progress.setValue(done)
        # The pace is taken from the first batch event on: the time before it (loading the
        # data, the first batch's warm-up) made the first ETAs hours long. M2's epochs take
        # a time of their own: its pace is taken anew.
        if self._pace_from is None or new_phase:
            self._pace_from = (done, self._elapsed)
        since, at = self._pace_from
        eta_s = eta_seconds(done - since, self._total_batches - since, self._elapsed - at)
        eta = format_duration(eta_s)
        self._set_running_format(
            f"{self._bar_epoch(ev.epoch)} · batch {ev.batch}/{ev.batches_per_epoch} · ETA {eta}"
        )
        self._show_latest(ev.images_per_second)

    def on_epoch(self, ev: EpochSummary) -> None:
        if self.m1_epochs and ev.epoch <= self.m1_epochs:
            self._m1_done = max(self._m1_done, ev.epoch)
        elif self.m1_epochs and not self._m2_started:
            self._m2_started = True
            self._show_latest(self._last.images_per_second if self._last else None)

    def _show_latest(self, images_per_second: float | None, suffix: str = "") -> None:
        """The latest batch's loss terms, the test error, the speed given (none: left out);
        during M1 (or a run that ended in it) what the views show."""
        if self._last is None:
            return
        m1 = self._in_m1()
        text = _metrics_text(self._last, self.labelled and not m1)
        if self.test_error is not None:
            text += f" · test error {100 * self.test_error:.2f}%"
        if images_per_second is not None:
            text += f" · {images_per_second:,.0f} img/s{suffix}"
        if m1:
            text = f"M1: {text}\n{VIEWS_NOTE if self._running else M1_STOPPED_NOTE}"
        elif self.m1_epochs and self._running and not self._m2_started:
            text += f"\n{VIEWS_NOTE}"
        self.status.setText(text)

    def on_done(self, stopped: bool, epochs: int, failed: bool) -> None:
        self._running = False
        word = "failed" if failed else ("stopped" if stopped else "finished")
        done = self.epochs_done(epochs)
        last = self._last
        if stopped and not self.m1_epochs and last is not None and last.epoch > epochs:
            # The weights kept have part of the next epoch too (the curves run on into it).
            done = f"in epoch {last.epoch} ({epochs} complete)"
        self.progress.setFormat(f"{word}: {done}" if self.m1_epochs else f"{word} {done}")
        if not stopped and not failed:
            self.progress.setValue(self.progress.maximum())
        rate = self.average_speed()
        if rate is not None:
            self._show_latest(rate, " on average")

    def average_speed(self) -> float | None:
        """Images per second over the run so far (pauses excluded), or None before the
        first batch event."""
        if self._last is None or self._elapsed <= 0:
            return None
        return self._done_batches * self._images_per_batch / self._elapsed


def _metrics_text(ev: BatchMetrics, labelled: bool = False) -> str:
    second = "labelled" if labelled else "recon"
    return f"loss {ev.loss:.1f} · {second} {ev.recon:.1f} · KL {ev.kl:.2f}"

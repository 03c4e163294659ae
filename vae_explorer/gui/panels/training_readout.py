"""The live readout of a training run: a progress bar (epoch, batch, ETA) and one status
line (loss terms and speed). After the run it says how it ended and the run's average
speed: images trained / wall time of the run with pauses left out (the last batch
window's speed, shown while training, says little about a whole run).

The status line has room for two lines (it never grows the dock); a longer text shows its
first two lines, with all of it in the tooltip, and the speed comes last."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressBar

from ...core.rendering import eta_seconds, format_duration
from ...core.training import BatchMetrics, TrainingStarted
from ..labels import FixedLinesLabel


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
        self._last = None
        self.test_error = None

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

    # --- events ----------------------------------------------------------------------------
    def on_started(self, ev: TrainingStarted) -> None:
        self._started_at = time.perf_counter()
        self._paused_for, self._paused_at = 0.0, None
        self._total_batches = ev.epochs * ev.batches_per_epoch
        self._epochs = ev.epochs  # all of the run's (M1+M2: M1's and M2's)
        self._images_per_batch = ev.train_images / max(ev.batches_per_epoch, 1)
        self._last, self._done_batches, self._elapsed = None, 0, 0.0
        self._pace_from = None
        self.progress.setRange(0, max(self._total_batches, 1))
        self.progress.setValue(0)
        self.progress.setFormat(f"epoch 1/{ev.epochs}")
        self.status.setText(
            f"Training on {ev.device.upper()}: {ev.train_images:,} images, "
            f"{ev.batches_per_epoch} batches per epoch"
        )

    def on_batch(self, ev: BatchMetrics) -> None:
        done = (ev.epoch - 1) * ev.batches_per_epoch + ev.batch
        self._last, self._done_batches, self._elapsed = ev, done, self._now()
        self.progress.setValue(done)
        # The pace is taken from the first batch event on: the time before it (loading the
        # data, the first batch's warm-up) made the first ETAs hours long.
        if self._pace_from is None:
            self._pace_from = (done, self._elapsed)
        since, at = self._pace_from
        eta_s = eta_seconds(done - since, self._total_batches - since, self._elapsed - at)
        eta = format_duration(eta_s)
        self._set_running_format(
            f"epoch {ev.epoch}/{self._epochs} · batch {ev.batch}/{ev.batches_per_epoch} · ETA {eta}"
        )
        self._show_latest(ev.images_per_second)

    def _show_latest(self, images_per_second: float | None, suffix: str = "") -> None:
        """The latest batch's loss terms, the test error, the speed given (none: left out)."""
        if self._last is None:
            return
        text = _metrics_text(self._last, self.labelled)
        if self.test_error is not None:
            text += f" · test error {100 * self.test_error:.2f}%"
        if images_per_second is not None:
            text += f" · {images_per_second:,.0f} img/s{suffix}"
        self.status.setText(text)

    def on_done(self, stopped: bool, epochs: int, failed: bool) -> None:
        word = "failed" if failed else ("stopped" if stopped else "finished")
        self.progress.setFormat(f"{word} after {epochs} epoch{'' if epochs == 1 else 's'}")
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

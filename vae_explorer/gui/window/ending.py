"""How the window ends: the jobs it stops and waits for when it closes, and what a signal
(SIGTERM, SIGHUP, Ctrl-C: app.end_on_signals) does first, when nobody can answer a question."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow


def keep_work_for_signal(window: MainWindow, wait_ms: int) -> None:
    """Stop a run with its last weights delivered and write an unsaved model's recovery
    copy now. Whatever fails is told on the console: the app ends all the same."""
    try:
        if window.views_ready:
            window.trainer.stop(wait_ms=wait_ms)
            window.recovery.write(wait=True)
            window.recovery.stop()
    except Exception:
        traceback.print_exc()


def dismiss_questions() -> None:
    """Answer "no" to every question on screen (Save / Discard / Cancel, a file dialog, the
    recovery offer): whatever asked it sees the window closing and goes on to close."""
    dismissed: list[QWidget] = []
    while (modal := QApplication.activeModalWidget()) is not None and modal not in dismissed:
        dismissed.append(modal)
        if isinstance(modal, QDialog):
            modal.reject()
        else:
            modal.close()


def stop_jobs(window: MainWindow, wait_ms: int) -> None:
    """Stop every background job (colours, maps, imputation, posterior, analogy, animation
    export, downloads, training) and wait for them, at most ``wait_ms`` for all together;
    open error messages go with the window."""
    # Before training stops: its last snapshot must not start new colours or maps.
    window.scatter.colour_by.shutdown(wait_ms=0)
    window.scatter_plane.shutdown()
    window.canvas.shutdown(wait_ms=0)
    window.posterior.shutdown(wait_ms=0)
    window.analogy.shutdown(wait_ms=0)
    window.animation_exporter.cancel()
    window.downloader.cancel()
    window.trainer.stop()
    from ..workers import wait_for_workers

    # Every job above runs on a Worker: one wait, one deadline for all of them. What still
    # runs after it is left to end on its own (the interpreter waits for it).
    wait_for_workers(wait_ms)
    for box in window.findChildren(QMessageBox):
        box.close()

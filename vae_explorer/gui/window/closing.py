"""Closing the window with work that exists nowhere else: ask Save / Discard / Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from .main_window import MainWindow


def ask_unsaved(window: MainWindow) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel for a model trained here and not saved (or still training)."""
    training = window.trainer.is_running()
    text = (
        "A model is training. Save it before quitting?"
        if training
        else "The current model was trained here and is not saved. Save it before quitting?"
    )
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved model", text, parent=window)
    box.setInformativeText(
        "Save stops the run and saves the model as trained so far."
        if training
        else "Discard loses the trained weights."
    )
    Button = QMessageBox.StandardButton
    box.setStandardButtons(Button.Save | Button.Discard | Button.Cancel)
    box.setDefaultButton(Button.Save)
    return Button(box.exec())


def may_close(window: MainWindow, wait_ms: int) -> bool:
    """False if the user chose to keep the window (Cancel, or a save that failed)."""
    if not (window.state.modified or window.trainer.is_running()):
        return True
    Button = QMessageBox.StandardButton
    answer = window.ask_unsaved()
    if answer == Button.Cancel:
        return False
    if answer == Button.Save:
        window.trainer.stop(wait_ms=wait_ms)
        if not window.menus.save_interactively():
            return False
    return True

"""A model that exists nowhere else (trained here, not saved) is never dropped unasked:
quitting, opening another model and starting a new run first ask Save / Discard / Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from .main_window import MainWindow

QUITTING = "quitting"
OPENING = "opening another model"
NEW_RUN = "starting a new run"


def ask_unsaved(window: MainWindow, before: str = QUITTING) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel for a model trained here and not saved (or still training),
    ``before`` what the user asked for (QUITTING, OPENING, NEW_RUN)."""
    return QMessageBox.StandardButton(unsaved_question(window, before).exec())


def unsaved_question(window: MainWindow, before: str) -> QMessageBox:
    """The question :func:`ask_unsaved` asks (Alt+S, Alt+D answer it; Escape cancels)."""
    training = window.trainer.is_running()
    text = (
        f"A model is training. Save it before {before}?"
        if training
        else f"The current model was trained here and is not saved. Save it before {before}?"
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
    box.setEscapeButton(Button.Cancel)
    for button, text in ((Button.Save, "&Save"), (Button.Discard, "&Discard")):
        box.button(button).setText(text)
    return box


def may_drop_model(window: MainWindow, before: str = QUITTING, wait_ms: int = 0) -> bool:
    """True when the current model may go: it is saved, or the user saved it now or chose
    Discard. False when the user chose Cancel or the save failed (the model stays)."""
    if not (window.state.modified or window.trainer.is_running()):
        return True
    Button = QMessageBox.StandardButton
    answer = window.ask_unsaved(before)
    if answer == Button.Cancel:
        return False
    if answer == Button.Save:
        window.trainer.stop(wait_ms=wait_ms)
        if not window.menus.save_interactively():
            return False
    return True

"""A trained, unsaved model is never lost silently: quitting (issue 9 items 1 and 2),
opening another model and starting a new run ask Save / Discard / Cancel first."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from window_helpers import LEFT, epoch_trained, small_run

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.gui.window import MainWindow, file_dialogs
from vae_explorer.gui.window.unsaved import NEW_RUN, OPENING, QUITTING

Button = QMessageBox.StandardButton


@pytest.fixture
def trained_window(qtbot, small_checkpoint):
    """A window whose current model was just trained here (not saved anywhere)."""
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    small_run(w, epochs=1)
    qtbot.mouseClick(w.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not w.trainer.is_running(), timeout=30_000)
    assert w.state.modified and w.state.model_path is None
    return w


def _answer(window, monkeypatch, button) -> list[str]:
    asked: list[str] = []

    def ask(before=QUITTING):
        asked.append("asked" if before == QUITTING else before)
        return button

    monkeypatch.setattr(window, "ask_unsaved", ask)
    return asked


def test_cancel_keeps_the_window_and_the_model(trained_window, monkeypatch):
    w = trained_window
    asked = _answer(w, monkeypatch, Button.Cancel)
    model = w.state.model
    QTest.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # the Quit shortcut
    assert asked == ["asked"] and w.isVisible() and w.state.model is model
    _answer(w, monkeypatch, Button.Discard)
    w.close()
    assert not w.isVisible()


def test_save_writes_the_model_then_closes(trained_window, monkeypatch, tmp_path):
    w = trained_window
    target = tmp_path / "kept.safetensors"
    _answer(w, monkeypatch, Button.Save)
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: str(target))
    weights = {k: v.clone() for k, v in w.state.model.state_dict().items()}
    w.menus.quit.trigger()
    assert not w.isVisible()
    saved = load_checkpoint(target)
    assert all((saved.model.state_dict()[k] == v).all() for k, v in weights.items())
    assert saved.metadata["epochs_completed"] == 1


def test_a_save_dialog_cancelled_keeps_the_window_open(trained_window, monkeypatch):
    w = trained_window
    _answer(w, monkeypatch, Button.Save)
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: "")
    w.close()
    assert w.isVisible() and w.state.modified
    _answer(w, monkeypatch, Button.Discard)
    w.close()


def test_quitting_during_a_run_can_save_what_was_trained(qtbot, small_checkpoint, monkeypatch, tmp_path):
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    small_run(w, epochs=500)
    qtbot.mouseClick(w.training.start_button, LEFT)
    qtbot.waitUntil(lambda: epoch_trained(w), timeout=30_000)
    target = tmp_path / "mid-run.safetensors"
    asked = _answer(w, monkeypatch, Button.Save)
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: str(target))
    w.close()
    assert asked == ["asked"] and not w.isVisible() and not w.trainer.is_running()
    assert load_checkpoint(target).metadata["epochs_completed"] >= 1


def test_no_question_for_a_model_that_is_saved(window, monkeypatch):
    asked = _answer(window, monkeypatch, Button.Cancel)
    window.close()
    assert asked == [] and not window.isVisible()


def test_saving_during_a_run_says_it_is_a_snapshot(window, qtbot, tmp_path):
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: epoch_trained(window), timeout=30_000)
    assert window.save_model(tmp_path / "snap.safetensors")
    message = window.statusBar().currentMessage()
    assert "snapshot after epoch" in message and "of 500" in message and "run goes on" in message
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)


def test_a_job_that_does_not_end_is_waited_for_once(window, monkeypatch):
    """Closing gives every running job one shared wait; the quit that follows adds none."""
    import threading
    import time

    from vae_explorer.gui import app as gui_app
    from vae_explorer.gui.window import main_window
    from vae_explorer.gui.workers import Worker

    release = threading.Event()
    stuck = Worker(release.wait, 30).start()
    monkeypatch.setattr(main_window, "CLOSE_WAIT_MS", 300)
    monkeypatch.setattr(gui_app, "CLOSE_WAIT_MS", 5_000)
    try:
        t0 = time.perf_counter()
        window.close()
        closed = time.perf_counter() - t0
        assert window.workers_waited and stuck.is_running()
        t0 = time.perf_counter()
        gui_app._wait_for_workers(window)  # what aboutToQuit runs next
        quit_wait = time.perf_counter() - t0
    finally:
        release.set()
        stuck.wait(5_000)
    assert 0.25 < closed < 3.0, f"closing waited {closed:.2f} s"
    assert quit_wait < 0.25, f"quitting waited again, {quit_wait:.2f} s"


def _refuse_file_dialogs(monkeypatch) -> None:
    fail = lambda *a, **k: pytest.fail("a file dialog opened")  # noqa: E731
    monkeypatch.setattr(file_dialogs, "open_file_name", fail)
    monkeypatch.setattr(file_dialogs, "save_file_name", fail)


def test_cancel_before_opening_keeps_the_model_and_shows_no_file_dialog(trained_window, monkeypatch):
    w = trained_window
    model = w.state.model
    asked = _answer(w, monkeypatch, Button.Cancel)
    _refuse_file_dialogs(monkeypatch)
    w.menus.open.trigger()
    assert asked == [OPENING] and w.state.model is model and w.state.modified


def test_save_before_opening_keeps_the_trained_model_in_a_file(
    trained_window, small_checkpoint, qtbot, monkeypatch, tmp_path
):
    w = trained_window
    target = tmp_path / "before-open.safetensors"
    weights = {k: v.clone() for k, v in w.state.model.state_dict().items()}
    asked = _answer(w, monkeypatch, Button.Save)
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: str(target))
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *a, **k: str(small_checkpoint))
    w.menus.open.trigger()
    qtbot.waitUntil(lambda: not w.opening, timeout=10_000)
    assert asked == [OPENING]
    assert w.state.model_path == small_checkpoint and not w.state.modified
    saved = load_checkpoint(target).model.state_dict()
    assert all((saved[k] == v).all() for k, v in weights.items())


def test_discard_before_opening_opens_without_saving(trained_window, small_checkpoint, qtbot, monkeypatch):
    w = trained_window
    asked = _answer(w, monkeypatch, Button.Discard)
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: pytest.fail("asked where to save"))
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *a, **k: str(small_checkpoint))
    w.menus.open.trigger()
    qtbot.waitUntil(lambda: not w.opening, timeout=10_000)
    assert asked == [OPENING] and w.state.model_path == small_checkpoint


def test_cancel_before_a_new_run_starts_nothing_and_clears_nothing(trained_window, monkeypatch):
    w = trained_window
    model, status = w.state.model, w.training.status.text()
    points = len(w.training.curves.series("loss")[0])
    asked = _answer(w, monkeypatch, Button.Cancel)
    _refuse_file_dialogs(monkeypatch)
    w.menus.start_training.trigger()  # F5, as the Start button
    assert asked == [NEW_RUN] and not w.trainer.is_running()
    assert w.state.model is model and w.state.modified
    assert w.training.status.text() == status and len(w.training.curves.series("loss")[0]) == points > 0


def test_discard_before_a_new_run_starts_it(trained_window, qtbot, monkeypatch):
    w = trained_window
    asked = _answer(w, monkeypatch, Button.Discard)
    qtbot.mouseClick(w.training.start_button, LEFT)
    assert asked == [NEW_RUN] and w.trainer.is_running()
    w.stop_training()
    qtbot.waitUntil(lambda: not w.trainer.is_running(), timeout=10_000)


def test_no_question_before_a_run_when_the_model_is_saved(window, qtbot, monkeypatch):
    asked = _answer(window, monkeypatch, Button.Cancel)
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    assert asked == [] and window.trainer.is_running()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)


def test_the_unsaved_question_answers_from_the_keyboard(window):
    """Alt+S saves, Alt+D discards (the buttons' mnemonics); Escape cancels."""
    from PySide6.QtGui import QKeySequence

    from vae_explorer.gui.window.unsaved import unsaved_question

    box = unsaved_question(window, QUITTING)
    Button = QMessageBox.StandardButton
    assert box.button(Button.Save).shortcut() == QKeySequence("Alt+S")
    assert box.button(Button.Discard).shortcut() == QKeySequence("Alt+D")
    assert box.escapeButton() is box.button(Button.Cancel)


def test_a_fault_on_the_way_to_saving_at_quit_keeps_the_window_and_the_model(trained_window, monkeypatch):
    """An unreadable remembered folder made the save dialog raise inside closeEvent: the
    close went through and the trained model was gone."""
    w = trained_window
    _answer(w, monkeypatch, Button.Save)

    def broken(*_a, **_k):
        raise PermissionError(13, "Permission denied", "/locked/data")

    monkeypatch.setattr(w.menus, "save_interactively", broken)
    model = w.state.model
    w.close()
    assert w.isVisible() and w.state.model is model and w.state.modified
    assert (
        w.last_error is not None and "was not saved" in w.last_error and "Permission denied" in w.last_error
    )
    _answer(w, monkeypatch, Button.Discard)
    w.close()
    assert not w.isVisible()


def test_a_remembered_folder_that_cannot_be_read_does_not_stop_the_dialogs(trained_window):
    """ENAMETOOLONG, EACCES and the like raise from Path.is_dir: the dialogs start in another
    folder instead of failing (every Open, Save and Export failed until the settings were
    edited by hand)."""
    import os

    w = trained_window
    remembered = "x" * 5000  # (a name too long: is_dir raises, as it does for EACCES)
    w.settings.setValue("paths/last_dir", remembered)
    start = w.menus.last_dir()
    assert start != remembered and os.path.isdir(start)

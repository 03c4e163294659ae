"""The app entry point, menus, and what the window remembers (layout, form, settings)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def test_run_app_builds_the_window_and_runs_the_loop(qtbot, small_checkpoint, monkeypatch):
    from vae_explorer.gui import app as app_module
    from vae_explorer.gui.window import MainWindow

    shown = []
    app = QApplication.instance()
    earlier = set(app.topLevelWidgets())  # windows of earlier tests, closed but not yet deleted
    monkeypatch.setattr(type(app), "exec", lambda self: shown.extend(self.topLevelWidgets()) or 0)
    assert app_module.run_app(str(small_checkpoint)) == 0

    windows = [w for w in shown if isinstance(w, MainWindow) and w not in earlier]
    assert len(windows) == 1, windows
    # The model itself is built in the background (tests/gui/window/test_window_startup.py
    # follows a start to the end); here: the window is up and loading that file.
    assert windows and windows[0].isVisible()
    assert windows[0].starter is not None and windows[0].starter.path.name == "small.safetensors"
    for w in windows:
        w.close()
        w.deleteLater()


def test_a_saved_layout_larger_than_the_screen_opens_inside_it(qtbot):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication

    from vae_explorer.gui.theme import app_settings
    from vae_explorer.gui.window import MainWindow

    area = QApplication.primaryScreen().availableGeometry()
    big = MainWindow(load_default=False)
    qtbot.addWidget(big)
    big.show()
    qtbot.waitExposed(big)
    big.setGeometry(QRect(area.left() + 500, area.top() + 400, area.width() + 600, area.height() + 400))
    assert big.width() > area.width()  # the saved layout really is larger than the screen
    app_settings().setValue("window/geometry", big.saveGeometry())
    big.close()
    w = MainWindow(load_default=False)
    qtbot.addWidget(w)
    assert w.width() <= area.width() and w.height() <= area.height()
    assert area.contains(w.geometry().topLeft())
    w.close()


def test_the_default_layout_fits_a_1400_by_900_screen(qtbot):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(load_default=False)
    qtbot.addWidget(w)
    hint = w.minimumSizeHint()
    assert hint.width() <= 1400 and hint.height() <= 900, (hint.width(), hint.height())
    w.close()


def test_menu_actions_exist_with_shortcuts(window):
    assert window.menus.open.shortcut().toString() == "Ctrl+O"
    assert window.menus.save.shortcut().toString() == "Ctrl+S"
    assert window.menus.quit.shortcut().toString() == "Ctrl+Q"
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Dataset", "&Training", "&View", "&Help"]


def test_layout_and_preferences_persist(qtbot, small_checkpoint):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.grid.size_spin.setValue(9)
    w.samples_dock.hide()
    w.show()
    w.close()
    w2 = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.grid.grid_size() == 9
    assert not w2.samples_dock.isVisible()
    w2.close()


def test_training_form_persists(qtbot, small_checkpoint):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.training.epochs.setValue(13)
    w.training.beta.setValue(2.5)
    w.close()
    w2 = MainWindow(None, load_default=False)
    qtbot.addWidget(w2)
    assert w2.training.epochs.value() == 13 and w2.training.beta.value() == 2.5
    w2.close()


def test_a_corrupt_settings_file_gives_a_sane_window(qtbot, small_checkpoint):
    """A hand-edited or damaged settings file: bad values are ignored, the form stays valid."""
    from vae_explorer.gui.theme import app_settings
    from vae_explorer.gui.window import MainWindow

    s = app_settings()
    bad_form = {"epochs": 0, "batch_size": -5, "lr": float("nan"), "beta": -1, "latent_dim": "x"}
    s.setValue("train/form", json.dumps(bad_form))
    s.setValue("grid/size", "lots")
    s.setValue("window/geometry", "garbage")
    s.setValue("dataset", "/no/such/folder")
    s.sync()
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    c = w.training.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    assert w.grid.grid_size() >= 2 and w.state.dataset_key == "mnist"
    s.setValue("train/form", json.dumps({"epochs": 0, "batch_size": -5, "lr": -1.0, "beta": -1.0}))
    s.sync()
    w2 = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w2)
    c = w2.training.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    w.close()
    w2.close()


def test_f1_lists_every_shortcut_from_the_actions_themselves(window, qtbot):
    from vae_explorer.gui.window.help import ShortcutsDialog

    QTest.keyClick(window, Qt.Key.Key_F1)
    dialog = window.menus.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog) and dialog.isVisible()
    t = dialog.table
    rows = {(t.item(i, 0).text(), t.item(i, 1).text()): t.item(i, 2).text() for i in range(t.rowCount())}
    assert rows[("Window", "Quit")] == "Ctrl+Q"
    assert rows[("Window", "Reset zoom")] == "Ctrl+0"
    assert rows[("Window", "Open model")] == "Ctrl+O"
    assert "Ctrl+Z" in rows[("Canvas", "Undo")]
    assert rows[("Latent scatter", "Decode a point of latent space")] == "click / drag"
    # Every key listed belongs to a real action of the window.
    from PySide6.QtGui import QAction

    from vae_explorer.gui.window.help import MOUSE_CONTROLS

    keys = {s.toString() for a in window.findChildren(QAction) for s in a.shortcuts()}
    mouse = {(area, what) for area, what, _ in MOUSE_CONTROLS}
    for (area, what), listed in rows.items():
        if area in ("Window", "Canvas") and (area, what) not in mouse:
            assert all(k in keys for k in listed.split(" / ")), listed
    # Each area's rows together (the canvas's mouse control with its keys), the window's first.
    areas = [t.item(i, 0).text() for i in range(t.rowCount())]
    runs = [a for i, a in enumerate(areas) if i == 0 or a != areas[i - 1]]
    assert runs[0] == "Window" and len(runs) == len(set(runs)), runs
    assert rows[("Canvas", "Paint with the current tool")] == "left-drag"
    dialog.close()


_BUG_SCRIPT = r"""
import os, signal, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from vae_explorer.gui import app as app_module
from vae_explorer.gui.window import MainWindow

app = QApplication(sys.argv[:1])  # the timers below need it; run_app uses it


def boom():
    raise RuntimeError("a bug in a slot")

def bad_input():  # as a user's own model's NaN met by a view
    from vae_explorer.core.model import InputError
    raise InputError("your model's decode returned NaN pixels")

def check_then_quit():
    w = [w for w in app_module.top_level_widgets(QApplication.instance()) if isinstance(w, MainWindow)][0]
    print("LAST_ERROR:", w.last_error, flush=True)
    print("ALIVE:", w.isVisible(), flush=True)
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    print("BOXES:", sorted((b.windowTitle(), b.text()) for b in boxes), flush=True)
    import gc, weakref
    print("AUTOMATIC_GC:", gc.isenabled(), flush=True)
    class Node:
        pass
    node = Node()
    node.me = node  # a cycle: only a collection frees it
    alive = weakref.ref(node)
    del node
    w.kept = [[] for _ in range(2000)]  # enough allocations to call for a collection
    # Ended as a logout or `kill` would: run_app's handler closes the window, exit status 0.
    def end():
        print("CYCLE_FREED:", alive() is None, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
    QTimer.singleShot(1500, end)

QTimer.singleShot(200, bad_input)
QTimer.singleShot(250, bad_input)  # the same error from another view: no second dialog
QTimer.singleShot(300, boom)
QTimer.singleShot(800, check_then_quit)
QTimer.singleShot(60_000, lambda: QApplication.instance().exit(3))
sys.exit(app_module.run_app(sys.argv[1]))
"""


def test_an_exception_in_a_slot_is_reported_and_the_app_lives_on(small_checkpoint, tmp_path):
    """(The script ends the app with SIGTERM: the exit status 0 also shows that run_app
    installed the signal handling.)"""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VAE_EXPLORER_SETTINGS": str(tmp_path / "s.ini")}
    proc = subprocess.run(
        [sys.executable, "-c", _BUG_SCRIPT, str(small_checkpoint)],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LAST_ERROR: RuntimeError: a bug in a slot" in proc.stdout
    assert "ALIVE: True" in proc.stdout
    boxes = (
        "BOXES: [('Error', \"your model's decode returned NaN pixels\"), "
        "('Unexpected error', 'RuntimeError: a bug in a slot (the details are on the console)')]"
    )
    assert boxes in proc.stdout, proc.stdout
    # Garbage is collected on the GUI thread's timer, never by whichever thread allocates.
    assert "AUTOMATIC_GC: False" in proc.stdout
    assert "CYCLE_FREED: True" in proc.stdout
    assert "Traceback" in proc.stderr and "a bug in a slot" in proc.stderr  # the details, for a report


@pytest.mark.parametrize(
    "key, value",
    [
        ("grid/size", 2**40),
        ("grid/size", "1e400"),
        ("grid/size", -3),
        ("grid/spacing", "spiral"),
        ("view/overlay", "maybe"),
        ("train/smooth", 7),
        ("train/settings_shown", "folded"),
        ("train/form", json.dumps({"epochs": 10**40, "lr": "inf", "batch_size": float("inf"), "beta": [1]})),
        ("train/form", "[1, 2, 3]"),
        ("train/form", "{" * 5000),
        ("window/state", "not a layout"),
    ],
)
def test_every_remembered_value_is_checked_before_use(qtbot, small_checkpoint, key, value):
    """Values that once aborted the app at every start (issue 10) are dropped with a log line."""
    from vae_explorer.gui.state import GRID_SIZE_RANGE, GRID_SPACINGS
    from vae_explorer.gui.theme import app_settings
    from vae_explorer.gui.window import MainWindow

    s = app_settings()
    s.setValue(key, value)
    s.sync()
    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    lo, hi = GRID_SIZE_RANGE
    assert lo <= w.state.grid_size <= hi and w.state.grid_spacing in GRID_SPACINGS
    assert isinstance(w.state.overlay, bool)
    c = w.training.job().train_config
    assert 1 <= c.epochs <= 10_000 and c.batch_size >= 1 and 0 < c.lr <= 1 and c.beta >= 0
    assert w.training.settings_shown()  # a value that is not a bool leaves the form unfolded
    w.close()


def test_a_folded_training_form_stays_folded_at_the_next_start(qtbot, small_checkpoint):
    from vae_explorer.gui.window import MainWindow

    first = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(first)
    first.show()
    qtbot.mouseClick(first.training.settings_toggle, Qt.MouseButton.LeftButton)
    first.close()
    second = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(second)
    second.show()
    assert not second.training.settings_shown() and not second.training.form.isVisible()
    qtbot.mouseClick(second.training.settings_toggle, Qt.MouseButton.LeftButton)
    second.close()
    third = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(third)
    assert third.training.settings_shown()
    third.close()


def test_every_menu_entry_has_its_own_alt_letter(window):
    """The Dataset menu and the docks' entries in View had none."""
    for menu_action in window.menuBar().actions():
        entries = [a for a in menu_action.menu().actions() if not a.isSeparator() and a.text()]
        letters = []
        for a in entries:
            text = a.text()
            assert "&" in text and text.index("&") < len(text) - 1, (menu_action.text(), text)
            letters.append(text[text.index("&") + 1].lower())
        assert len(letters) == len(set(letters)), (menu_action.text(), [a.text() for a in entries])


_ALLOCATOR_FAILURE = RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")


@pytest.mark.parametrize("exc", [MemoryError(), _ALLOCATOR_FAILURE])
def test_the_exception_hook_calls_an_allocator_failure_out_of_memory(window, qapp, monkeypatch, exc):
    """torch's allocators raise RuntimeError, not MemoryError: the user reads "out of memory"."""
    import sys

    from vae_explorer.gui.app import install_exception_hook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "show_error", lambda title, text: shown.append((title, text)))
    monkeypatch.setattr("traceback.print_exception", lambda *args: None)
    install_exception_hook(qapp)
    sys.excepthook(type(exc), exc, None)
    assert shown == [("Unexpected error", "out of memory (the details are on the console)")]

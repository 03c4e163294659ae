"""Fixtures for the GUI tests: isolated settings, a small trained checkpoint, the window."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

# Created at collection time, before any test runs: code elsewhere that renders offscreen
# (the figures command) then reuses it instead of starting a bare QGuiApplication, which
# would make Qt abort the run at the first widget built afterwards.
_APP = QApplication.instance() or QApplication(["vae-explorer-tests"])


def _collect_garbage_on_the_gui_thread() -> None:
    """As the app does (gui/app.py): a collection that ran in a worker (the posterior's
    contours) freed views' Qt objects there and deadlocked the suite, the GUI thread
    deleting a menu meanwhile."""
    from vae_explorer.gui.app import collect_garbage_on_gui_thread

    collect_garbage_on_gui_thread()


_collect_garbage_on_the_gui_thread()


def pytest_collection_modifyitems(items):
    # The offscreen platform warns about window hints it cannot honour: not a failure.
    for item in items:
        if "tests/gui" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints"))


@pytest.fixture(autouse=True)
def _widgets_possible():
    """Widgets need a QApplication; a bare QGuiApplication left by an earlier test (e.g.
    offscreen figure rendering) would make Qt abort the whole run at the first widget."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None and not isinstance(app, QApplication):
        pytest.fail(
            f"a {type(app).__name__} (not a QApplication) is already running in this process, "
            "created by an earlier test: widgets cannot be built. Run tests/gui separately."
        )


@pytest.fixture(autouse=True)
def _discard_unsaved_models_on_close():
    """Closing a window with a trained, unsaved model asks Save/Discard/Cancel (a modal
    dialog). Tests answer Discard unless they test the question itself. (Its own patch
    context: a test's ``monkeypatch.undo()`` must not bring the modal dialog back.)"""
    from PySide6.QtWidgets import QMessageBox

    from vae_explorer.gui.app import top_level_widgets
    from vae_explorer.gui.window import MainWindow

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MainWindow, "ask_unsaved", lambda self, *before: QMessageBox.StandardButton.Discard)
        yield
        # pytest-qt closes the test's widgets after this fixture ends: close windows now,
        # while the answer is still Discard, so no modal question blocks the run.
        for widget in top_level_widgets(_APP):
            if isinstance(widget, MainWindow) and not widget._closing:
                widget.close()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own QSettings file and recovery folder, never the user's."""
    monkeypatch.setenv("VAE_EXPLORER_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("VAE_EXPLORER_RECOVERY", str(tmp_path / "recovery"))


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory, small_images):
    """A 2-d MLP VAE trained for two short epochs on 2,000 test digits (a few seconds)."""
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig
    from vae_explorer.core.training import EpochSummary, TrainConfig, train

    torch.set_num_threads(1)  # a shared 2-core box: more threads only spin
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=64))
    history = []
    for ev in train(model, small_images, TrainConfig(epochs=2, batch_size=50, lr=3e-3)):
        if isinstance(ev, EpochSummary):
            history.append({"epoch": ev.epoch, "train_loss": ev.train_loss})
    path = tmp_path_factory.mktemp("ckpt") / "small.safetensors"
    save_checkpoint(model, path, {"dataset": "mnist", "history": history, "epochs_completed": 2})
    return path


@pytest.fixture
def make_window(qtbot):
    """make_window(path): the main window on that checkpoint, 1300 x 850, shown; closed (and
    its training worker checked stopped) after the test."""
    from vae_explorer.gui.window import MainWindow

    made = []

    def make(path):
        w = MainWindow(path, load_default=False)
        qtbot.addWidget(w)
        w.resize(1300, 850)
        w.show()
        qtbot.waitExposed(w)
        QApplication.processEvents()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        assert not w.trainer.is_running()


@pytest.fixture
def window(make_window, small_checkpoint):
    """The main window on the small model, shown; closed (and its worker stopped) after."""
    return make_window(small_checkpoint)


@pytest.fixture
def app_theme():
    """The app's own style and palette (run_app sets them), restored after the test."""
    from vae_explorer.gui.theme import apply_dark_theme

    app = QApplication.instance()
    style, palette = app.style().name() or "Fusion", app.palette()  # (the proxy has no name)
    apply_dark_theme(app)
    yield
    app.setStyle(style)
    app.setPalette(palette)


@pytest.fixture
def close_at_end():
    """close_at_end(w): an explore() window (Qt frees it once closed, so pytest-qt's own
    close would find it gone) is closed after the test if it is still open."""
    from shiboken6 import isValid

    windows: list = []
    yield windows.append
    for w in windows:
        if isValid(w):
            w.close()

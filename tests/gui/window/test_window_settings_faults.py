"""Start-up and settings faults: a remembered dataset folder that became unreadable (EACCES)
or a hand-edited key too long for the kernel (ENAMETOOLONG) once made the app exit at every
start; a model trained on a folder of IDX files opened on "custom" as a folder; explore()
windows trained on "your images" as a folder and saved it as the remembered dataset."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from external_models import ProtocolModel
from PySide6.QtWidgets import QApplication
from window_helpers import told

import vae_explorer
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.gui.theme import app_settings

READY_MS = 120_000
OWN_IMAGES = "your images"  # explore()'s dataset key (core.data.OWN_IMAGES)
LONG_KEY = "/tmp/" + "k" * 5000  # ENAMETOOLONG from stat(), which pathlib does not swallow


@pytest.fixture
def lock(monkeypatch):
    """lock(folder): every stat of ``folder`` and below raises EACCES, as for a folder under
    another user's mode-700 folder (root, running the tests, would see it)."""

    def lock(folder: Path) -> None:
        real_stat = Path.stat

        def stat(self, *args, **kwargs):
            if self == folder or folder in self.parents:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real_stat(self, *args, **kwargs)

        monkeypatch.setattr(Path, "stat", stat)

    return lock


def _remember(key: str) -> None:
    s = app_settings()
    s.setValue("dataset", key)
    s.sync()


def _start(qtbot, path, background: bool):
    from vae_explorer.gui.window import MainWindow

    w = MainWindow(path, load_default=False, background=background)
    qtbot.addWidget(w)
    w.show()
    if background:
        qtbot.waitUntil(lambda: w.views_ready, timeout=READY_MS)
    QApplication.processEvents()
    return w


@pytest.mark.parametrize("background", [True, False], ids=["background start", "plain start"])
@pytest.mark.parametrize("unusable", ["locked", "too long"])
def test_an_unusable_remembered_dataset_is_dropped_and_the_app_starts(
    qtbot, small_checkpoint, make_idx_folder, lock, caplog, background, unusable
):
    if unusable == "locked":
        key = str(make_idx_folder(20, 10))
        lock(Path(key))
    else:
        key = LONG_KEY
    _remember(key)
    with caplog.at_level(logging.WARNING):
        w = _start(qtbot, small_checkpoint, background)
    assert w.state.dataset_key == "mnist" and w.state.test_set is not None
    assert w.state.model is not None and w.last_error is None, w.last_error
    assert any("ignoring dataset" in r.getMessage() for r in caplog.records)
    w.close()


def test_choosing_a_locked_folder_says_why_and_keeps_the_dataset(window, make_idx_folder, lock):
    folder = make_idx_folder(20, 10)
    lock(folder)
    shown = window.state.test_set
    assert window.set_dataset(str(folder)) is False
    assert "Cannot open the dataset" in told(window) and "permission denied" in window.last_error
    assert str(folder) in window.last_error
    assert window.state.test_set is shown and window.state.dataset_key == "mnist"


@pytest.fixture
def folder_checkpoint(small_checkpoint, tmp_path):
    """The small model as `train --data-dir` saves it: dataset "custom"."""
    ckpt = load_checkpoint(small_checkpoint)
    return save_checkpoint(ckpt.model, tmp_path / "on-a-folder.safetensors", {"dataset": "custom"})


def test_a_model_trained_on_a_folder_starts_on_the_remembered_dataset_and_says_so(qtbot, folder_checkpoint):
    w = _start(qtbot, folder_checkpoint, background=True)
    assert w.last_error is None, w.last_error  # was: "Cannot open the dataset: custom: no such folder"
    assert w.state.dataset_key == "mnist" and w.state.model is not None
    message = w.statusBar().currentMessage()
    assert "trained on a folder of IDX files" in message and "Open folder of IDX files" in message
    w.close()


def test_a_model_trained_on_a_folder_starts_on_the_remembered_folder(
    qtbot, folder_checkpoint, make_idx_folder
):
    folder = make_idx_folder(60, 30)
    _remember(str(folder))
    w = _start(qtbot, folder_checkpoint, background=True)
    assert w.last_error is None, w.last_error
    assert w.state.dataset_key == str(folder) and len(w.state.test_set) == 30
    assert "trained on a folder" not in w.statusBar().currentMessage()
    w.close()


def test_a_relative_folder_named_in_a_model_is_never_read(
    qtbot, small_checkpoint, make_idx_folder, monkeypatch
):
    """Any text a file records as its dataset was loaded as a folder relative to the CWD."""
    folder = make_idx_folder(60, 30)
    monkeypatch.chdir(folder.parent)
    ckpt = load_checkpoint(small_checkpoint)
    path = save_checkpoint(ckpt.model, folder.parent / "odd.safetensors", {"dataset": folder.name})
    w = _start(qtbot, path, background=True)
    assert w.state.dataset_key == "mnist" and w.last_error is None, w.last_error
    w.close()


# --- explore() ------------------------------------------------------------------------------


@pytest.fixture
def explored(close_at_end, mnist_test):
    w = vae_explorer.explore(ProtocolModel(), mnist_test.images[:300], mnist_test.labels[:300], block=False)
    close_at_end(w)
    QApplication.processEvents()
    yield w
    w.close()


def test_training_in_an_explore_window_never_reads_a_folder_named_your_images(
    qtbot, explored, make_idx_folder, monkeypatch
):
    folder = make_idx_folder(60, 30)
    shutil.move(str(folder), str(folder.parent / OWN_IMAGES))  # a folder that name in the CWD
    monkeypatch.chdir(folder.parent)
    w = explored
    assert w.state.dataset_key == OWN_IMAGES and "Your images" in w.dataset_label.text()
    t = w.training
    t.torch_threads = 1
    t.epochs.setValue(1)
    t.hidden_dim.setValue(16)
    t.start_button.click()
    # Refused before any run starts (no worker that fails a moment later).
    assert not w.trainer.is_running() and w.last_error is not None
    assert "training needs a dataset, choose one in the Dataset menu" in w.last_error
    assert w.state.model_meta.get("external") and len(w.state.test_set) == 300  # nothing trained


def test_closing_an_explore_window_keeps_the_remembered_dataset(close_at_end, mnist_test):
    _remember("fashion-mnist")
    w = vae_explorer.explore(ProtocolModel(), mnist_test.images[:50], block=False)
    close_at_end(w)
    w.close()
    QApplication.processEvents()
    assert app_settings().value("dataset") == "fashion-mnist"


def test_closing_an_explore_window_with_nothing_remembered_remembers_nothing(close_at_end, mnist_test):
    w = vae_explorer.explore(ProtocolModel(), mnist_test.images[:50], block=False)
    close_at_end(w)
    w.close()
    QApplication.processEvents()
    assert app_settings().value("dataset") is None
    assert app_settings().value("grid/size") is not None  # the rest is saved as before


@pytest.mark.parametrize(
    "names",
    [
        np.array(["zero", "one", "two"]),
        ("zero", "one", "two"),
        np.array([b"zero", b"one", b"two"]),
        (n for n in ["zero", "one", "two"]),
    ],
    ids=["numpy str", "tuple", "numpy bytes", "generator"],
)
def test_explore_takes_class_names_as_any_sequence(names):
    from vae_explorer.explore import as_dataset

    images = np.zeros((4, 28, 28), np.uint8)
    data = as_dataset(images, np.array([0, 1, 2, 1]), names)
    assert data.classes == ["zero", "one", "two"] and all(type(c) is str for c in data.classes)
    assert as_dataset(images, None, np.array([], str)).classes == ["image"]


def test_explore_names_what_is_wrong_with_class_names():
    from vae_explorer.explore import as_dataset

    images = np.zeros((4, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="class_names must be a list of names"):
        as_dataset(images, np.array([0, 1, 2, 1]), "abc")
    with pytest.raises(ValueError, match="class_names must be a list of names, got int"):
        as_dataset(images, np.array([0, 1, 2, 1]), 3)
    with pytest.raises(ValueError, match="2 class names for labels up to 2"):
        as_dataset(images, np.array([0, 1, 2, 1]), np.array(["a", "b"]))


def test_explore_window_opens_with_numpy_class_names(close_at_end, mnist_test):
    w = vae_explorer.explore(
        ProtocolModel(),
        mnist_test.images[:50],
        mnist_test.labels[:50],
        np.array(mnist_test.classes),
        block=False,
    )
    close_at_end(w)
    assert w.state.test_set.classes == list(mnist_test.classes)
    w.close()


def test_a_model_trained_on_a_folder_opened_from_the_menu_says_so(window, folder_checkpoint):
    assert window.open_model(folder_checkpoint)
    message = window.statusBar().currentMessage()
    assert "trained on a folder of IDX files" in message and "Open folder of IDX files" in message


@pytest.mark.parametrize(("shown_key", "shown"), [("mnist", "MNIST"), ("", "other data")])
def test_the_folder_hint_names_the_data_on_show_and_never_guesses_it(shown_key, shown):
    """A shown key that could not be read was named as MNIST, whatever was on show."""
    from vae_explorer.gui.window.startup import folder_hint

    hint = folder_hint({"dataset": "custom"}, shown_key)
    assert hint is not None and f"; {shown}" in hint
    assert folder_hint({"dataset": "mnist"}, shown_key) is None


def test_a_recorded_dataset_that_is_no_name_is_told_too(small_checkpoint, tmp_path):
    """A damaged file's ["mnist"] opened on the data on show without a word."""
    from vae_explorer.gui.window.startup import folder_hint

    assert folder_hint({"dataset": "mnist"}, "mnist") is None and folder_hint({}, "mnist") is None
    said = folder_hint({"dataset": ["mnist"]}, "mnist")
    assert said is not None and "\"['mnist']\", not a dataset this app knows" in said
    assert "\x1b" not in (folder_hint({"dataset": "\x1b[31m"}, "mnist") or "\x1b")

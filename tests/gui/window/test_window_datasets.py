"""Datasets through the window: the Dataset menu, IDX folders good and bad, downloads."""

from __future__ import annotations

import gzip
import io
import shutil
import socket
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from window_helpers import (
    LEFT,
    same_weights,
    small_run,
    told,
    weights,
)

from vae_explorer.core.data import write_idx
from vae_explorer.gui.window import file_dialogs


def _idx_folder(folder: Path, n_train: int = 120, n_test: int = 60) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    return folder


TEST_IMAGES = "t10k-images-idx3-ubyte.gz"


TEST_LABELS = "t10k-labels-idx1-ubyte.gz"


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _raw(p: Path, payload: bytes) -> None:
    p.unlink()
    p.with_suffix("").write_bytes(payload)  # the raw (uncompressed) name


DATA_FAULTS = {
    "truncated gzip": (TEST_IMAGES, _truncate, "truncated"),
    "not gzip": (TEST_IMAGES, lambda p: p.write_bytes(b"<html>not found</html>" * 9), "not a gzip"),
    "wrong magic": (TEST_IMAGES, lambda p: _raw(p, b"\x01\x02\x08\x03" + bytes(200)), "bad magic"),
    "wrong dtype": (TEST_IMAGES, lambda p: write_idx(p, np.zeros((60, 28, 28), ">i4")), "unsigned bytes"),
    "wrong dims": (TEST_IMAGES, lambda p: write_idx(p, np.zeros((60, 14, 14), np.uint8)), "28 x 28"),
    "counts differ": (TEST_LABELS, lambda p: write_idx(p, np.zeros(59, np.uint8)), "59 labels"),
    "label out of range": (TEST_LABELS, lambda p: write_idx(p, np.full(60, 12, np.uint8)), "out of range"),
    "file missing": (TEST_LABELS, lambda p: p.unlink(), "missing"),
    "empty file": (TEST_IMAGES, lambda p: p.write_bytes(b""), "empty"),
    "huge declared size": (
        TEST_IMAGES,
        lambda p: _raw(p, bytes([0, 0, 8, 3]) + struct.pack(">III", 60_000, 28, 28) + bytes(1000)),
        "truncated",
    ),
}


def _open_folder(window, monkeypatch, folder: Path) -> None:
    """Dataset ▸ Open folder of IDX files…, the dialog answering ``folder``."""
    monkeypatch.setattr(file_dialogs, "existing_folder", lambda *a, **k: str(folder))
    window.menus.open_folder.trigger()


def test_a_good_idx_folder_opens(window, tmp_path, monkeypatch):
    """The control for the faults below: the same folder, unharmed, opens."""
    folder = _idx_folder(tmp_path / "data")
    _open_folder(window, monkeypatch, folder)
    assert window.state.dataset_key == str(folder) and len(window.state.test_set) == 60
    assert window.scatter.cloud.points()[0].shape == (60,)


@pytest.mark.parametrize("fault", list(DATA_FAULTS))
def test_a_bad_idx_folder_is_refused_and_the_dataset_stays(window, tmp_path, monkeypatch, fault):
    name, damage, phrase = DATA_FAULTS[fault]
    folder = _idx_folder(tmp_path / "data")
    damage(folder / name)
    before = window.state.test_set
    _open_folder(window, monkeypatch, folder)
    text = told(window)
    assert phrase in text and name.split(".")[0] in text, text
    assert window.last_error is not None and phrase in window.last_error
    assert window.state.dataset_key == "mnist" and window.state.test_set is before
    assert window.scatter.cloud.points()[0].shape == (10_000,)
    assert window.training.dataset.currentData() == "mnist"
    assert window.menus.datasets["mnist"].isChecked()


def test_a_folder_of_empty_splits(window, qtbot, tmp_path, monkeypatch):
    """Zero images: shown as an empty scatter; training says the training set is empty."""
    folder = _idx_folder(tmp_path / "data", n_train=0, n_test=0)
    _open_folder(window, monkeypatch, folder)
    assert window.state.dataset_key == str(folder) and len(window.state.test_set) == 0
    window.grid.refresh()
    window.samples.new_button.click()
    assert not window.canvas.random_button.isEnabled()
    small_run(window)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running() and bool(window.last_error), timeout=10_000)
    assert "training split" in told(window) and "holds no images" in told(window)


def test_a_damaged_training_split_fails_at_start(window, qtbot, tmp_path, monkeypatch):
    """The test split alone is enough to look at; training then names the bad file, and
    the model and its curves stay as they were."""
    folder = _idx_folder(tmp_path / "data")
    _truncate(folder / "train-images-idx3-ubyte.gz")
    _open_folder(window, monkeypatch, folder)
    assert window.state.dataset_key == str(folder)
    model, before = window.state.model, weights(window.state.model)
    assert window.state.history, "the shipped model comes with its training history"
    curves = window.training.curves
    shown = curves.series("loss")[1].copy()
    assert shown.size == len(window.state.history)
    small_run(window)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running() and bool(window.last_error), timeout=10_000)
    assert "train-images-idx3-ubyte" in told(window) and "truncated" in window.last_error
    assert "failed" in window.training.progress.format()
    assert window.state.model is model and same_weights(weights(model), before)
    assert window.training.start_button.isEnabled()
    np.testing.assert_array_equal(curves.series("loss")[1], shown)  # not left blank


def test_a_folder_without_training_files_is_refused_before_the_unsaved_question(
    window, qtbot, tmp_path, monkeypatch
):
    """Start on a folder with only the test files: no Save/Discard question for a run that
    cannot start, the files named, the unsaved model and its curves kept."""
    folder = _idx_folder(tmp_path / "data")
    for stem in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / stem).unlink()
    _open_folder(window, monkeypatch, folder)
    assert window.state.dataset_key == str(folder)
    state = window.state
    model, before = state.model, weights(state.model)
    state.set_model(model, dict(state.model_meta), None, modified=True)  # as if trained here
    state.set_history(state.history)
    shown = window.training.curves.series("loss")[1].copy()
    asked: list[str] = []
    monkeypatch.setattr(
        window, "ask_unsaved", lambda before: asked.append(before) or QMessageBox.StandardButton.Discard
    )
    small_run(window)
    qtbot.mouseClick(window.training.start_button, LEFT)
    assert asked == [] and not window.trainer.is_running()
    text = told(window)
    assert "no training split" in text and "train-images-idx3-ubyte" in text and "train-labels" in text
    assert state.model is model and state.modified and same_weights(weights(model), before)
    assert shown.size and np.array_equal(window.training.curves.series("loss")[1], shown)
    assert window.training.start_button.isEnabled()


def test_missing_dataset_folder_is_reported(window, tmp_path):
    assert not window.set_dataset(str(tmp_path / "nowhere"))
    assert "nowhere" in window.last_error
    assert window.state.dataset_key == "mnist"


def test_dataset_menu_switches_the_test_set(window):
    from vae_explorer.core.data import locate_dataset

    if locate_dataset("fashion-mnist", "test") is None:
        pytest.skip("Fashion-MNIST is not installed here")
    window.menus.datasets["fashion-mnist"].trigger()
    assert window.state.dataset_key == "fashion-mnist"
    assert window.training.dataset.currentData() == "fashion-mnist"
    labels = [item[1].text for item in window.scatter.legend.items]
    assert labels[0] == "T-shirt/top" and labels[9] == "Ankle boot"
    assert window.state.latents[0].shape == (10_000, 2)
    assert "Fashion-MNIST" in window.dataset_label.text()
    window.training.dataset.setCurrentIndex(window.training.dataset.findData("mnist"))
    assert window.state.dataset_key == "mnist" and window.menus.datasets["mnist"].isChecked()


def test_download_runs_in_the_background_with_progress(window, qtbot, monkeypatch, tmp_path):
    import vae_explorer.gui.window.downloads as dd

    calls = []

    def fake_download(name, progress=None):
        calls.append(name)
        for done in (0, 500_000, 1_000_000):
            progress("t10k-images-idx3-ubyte", done, 1_000_000)
        return tmp_path

    monkeypatch.setattr(dd, "download_dataset", fake_download)
    seen = []
    window.downloader.progress.connect(lambda *a: seen.append(a))
    with qtbot.waitSignal(window.downloader.finished, timeout=5000) as blocker:
        window.download_dataset("fashion-mnist")
    assert blocker.args == ["fashion-mnist", str(tmp_path)]
    assert calls == ["fashion-mnist"] and seen[-1] == ("t10k-images-idx3-ubyte", 1_000_000, 1_000_000)
    qtbot.waitUntil(lambda: window.downloader.dialog is None, timeout=2000)
    assert not window.downloader.is_running()


def test_a_download_can_be_cancelled(window, qtbot, monkeypatch):

    import vae_explorer.gui.window.downloads as dd

    def slow_download(name, progress=None):
        for i in range(1000):
            progress("train-images-idx3-ubyte", i, 1000)
            time.sleep(0.005)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(dd, "download_dataset", slow_download)
    with qtbot.waitSignal(window.downloader.progress, timeout=5000):
        window.download_dataset("fashion-mnist")
    with qtbot.waitSignal(window.downloader.failed, timeout=5000) as blocker:
        window.downloader.dialog.findChild(QPushButton).click()  # the dialog's Cancel
    assert blocker.args == ["download cancelled"]
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_download_cancelled_while_blocked_in_a_read_says_cancelled(window, qtbot, monkeypatch):
    """Cancel cannot interrupt a blocked read; the error it ends with is not shown."""
    import threading

    import vae_explorer.gui.window.downloads as dd

    release = threading.Event()

    def blocked_download(name, progress=None):
        progress("train-images-idx3-ubyte", 1, 1000)
        release.wait(10)
        raise OSError("timed out")  # the connection gives up after the user cancelled

    monkeypatch.setattr(dd, "download_dataset", blocked_download)
    with qtbot.waitSignal(window.downloader.progress, timeout=5000):
        window.download_dataset("fashion-mnist")
    with qtbot.waitSignal(window.downloader.failed, timeout=5000) as blocker:
        window.downloader.dialog.findChild(QPushButton).click()
        release.set()
    assert blocker.args == ["download cancelled"] and window.last_error is None


class _Response:
    """A stand-in for urlopen's answer: ``body``, claiming ``length`` bytes."""

    def __init__(self, body: bytes, length: int) -> None:
        self.headers = {"Content-Length": str(length)}
        self._body = io.BytesIO(body)

    def read(self, n: int = -1) -> bytes:
        return self._body.read(n)

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _no_network(url, timeout=None):
    raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))


def _http_404(url, timeout=None):
    raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]


_NOT_FASHION = gzip.compress(b"not fashion")


DOWNLOAD_FAULTS = {
    "no network": (_no_network, "(Temporary failure in name resolution). Check the network connection"),
    "HTTP error": (_http_404, "HTTP 404"),
    "truncated transfer": (lambda url, timeout=None: _Response(b"\x1f\x8b" + bytes(98), 5000), "try again"),
    "checksum mismatch": (
        lambda url, timeout=None: _Response(_NOT_FASHION, len(_NOT_FASHION)),
        "checksum mismatch",
    ),
}


@pytest.mark.parametrize("fault", list(DOWNLOAD_FAULTS))
def test_a_failed_download_is_reported_and_leaves_nothing(window, qtbot, monkeypatch, fault):
    from vae_explorer.core.data import user_data_dir

    opener, phrase = DOWNLOAD_FAULTS[fault]
    monkeypatch.setattr(urllib.request, "urlopen", opener)
    dest = user_data_dir() / "fashion-mnist"
    shutil.rmtree(dest, ignore_errors=True)
    before = window.state.test_set
    with qtbot.waitSignal(window.downloader.failed, timeout=10_000):
        window.download_dataset("fashion-mnist")
    qtbot.waitUntil(lambda: not window.downloader.is_running(), timeout=5000)
    text = told(window)
    assert "Download failed" in text and phrase in text, text
    assert window.downloader.dialog is None
    assert window.state.dataset_key == "mnist" and window.state.test_set is before
    assert not dest.exists() or list(dest.iterdir()) == []  # no partial or corrupt file


def test_opening_a_model_shows_the_dataset_it_was_trained_on(window):
    from vae_explorer.core.data import locate_dataset
    from vae_explorer.gui.window.datasets import shipped_model_for

    fashion = shipped_model_for("fashion-mnist")
    if fashion is None or locate_dataset("fashion-mnist", "test") is None:
        pytest.skip("Fashion-MNIST (data or shipped model) is not here")
    assert window.state.dataset_key == "mnist"
    assert window.open_model(fashion)
    assert window.state.dataset_key == "fashion-mnist"
    labels = [item[1].text for item in window.scatter.legend.items]
    assert labels[0] == "T-shirt/top"


def test_choosing_another_dataset_offers_its_shipped_model(window, monkeypatch):
    from vae_explorer.core.data import locate_dataset
    from vae_explorer.gui.window.datasets import shipped_model_for

    if shipped_model_for("fashion-mnist") is None or locate_dataset("fashion-mnist", "test") is None:
        pytest.skip("Fashion-MNIST (data or shipped model) is not here")
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "ask_open_matching", lambda a, b: asked.append((a, b)) or True)
    window.menus.datasets["fashion-mnist"].trigger()
    assert asked == [("MNIST digits", "Fashion-MNIST")]
    assert window.state.model_path == shipped_model_for("fashion-mnist")
    assert window.state.model_meta["dataset"] == "fashion-mnist"
    # Declined: the dataset changes, the model stays.
    monkeypatch.setattr(window, "ask_open_matching", lambda a, b: False)
    window.training.dataset.setCurrentIndex(window.training.dataset.findData("mnist"))
    assert window.state.dataset_key == "mnist"
    assert window.state.model_path == shipped_model_for("fashion-mnist")


def test_a_model_of_the_shown_dataset_is_not_questioned(window, monkeypatch):
    monkeypatch.setattr(window, "ask_open_matching", lambda a, b: pytest.fail("asked"))
    assert window.choose_dataset("mnist")


def test_an_unsaved_model_is_asked_about_before_the_shipped_one_replaces_it(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from vae_explorer.core.data import locate_dataset
    from vae_explorer.gui.window.datasets import shipped_model_for
    from vae_explorer.gui.window.unsaved import OPENING

    if shipped_model_for("fashion-mnist") is None or locate_dataset("fashion-mnist", "test") is None:
        pytest.skip("Fashion-MNIST (data or shipped model) is not here")
    state = window.state
    model = state.model
    state.set_model(model, dict(state.model_meta), None, modified=True)  # as if trained here
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_open_matching", lambda a, b: True)
    monkeypatch.setattr(
        window, "ask_unsaved", lambda before: asked.append(before) or QMessageBox.StandardButton.Cancel
    )
    window.menus.datasets["fashion-mnist"].trigger()
    assert asked == [OPENING]
    assert state.dataset_key == "fashion-mnist" and state.model is model and state.modified


@pytest.mark.parametrize("answer", [True, False])
def test_choosing_a_dataset_that_is_not_here_offers_to_download_it(window, monkeypatch, answer):
    import vae_explorer.core.data.registry as registry
    import vae_explorer.gui.window.datasets as datasets

    monkeypatch.setattr(registry, "locate_dataset", lambda *a, **k: None)  # not on this computer
    monkeypatch.setattr(datasets, "locate_dataset", lambda *a, **k: None)
    asked, started = [], []

    def ask(_window, title, host):
        asked.append((title, host))
        return answer

    monkeypatch.setattr(datasets, "ask_download", ask)
    monkeypatch.setattr(window.downloader, "start", started.append)
    window.menus.datasets["fashion-mnist"].trigger()
    assert asked == [("Fashion-MNIST", "raw.githubusercontent.com")]
    assert started == (["fashion-mnist"] if answer else [])
    assert window.last_error is None  # a question, not an error
    assert window.state.dataset_key == "mnist" and window.menus.datasets["mnist"].isChecked()


@pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")  # (the error, raised again)
def test_a_model_of_a_missing_dataset_opens_at_start_without_a_question(qtbot, tmp_path, monkeypatch):
    """The download is offered when the user picks the dataset, never while the window
    starts (a question before the first paint; the downloader does not exist yet)."""
    import torch

    import vae_explorer.core.data.registry as registry
    import vae_explorer.gui.window.datasets as datasets
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig
    from vae_explorer.gui.window import MainWindow

    monkeypatch.setattr(registry, "locate_dataset", lambda *a, **k: None)
    monkeypatch.setattr(datasets, "locate_dataset", lambda *a, **k: None)
    asked = []
    monkeypatch.setattr(datasets, "ask_download", lambda *a: asked.append(a) or True)
    torch.manual_seed(0)
    path = save_checkpoint(
        VAE(VAEConfig(latent_dim=2, hidden_dim=16)), tmp_path / "f.safetensors", {"dataset": "fashion-mnist"}
    )
    w = MainWindow(path, load_default=False, background=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.views_ready, timeout=120_000)
    assert asked == [] and w.state.model is not None
    w.close()


def test_a_model_opened_without_its_data_says_which_data_is_shown(window, monkeypatch, tmp_path):
    """A Fashion-MNIST model opened with the download declined showed MNIST's digits as if
    they were its own: the status bar says so until the next message."""
    import torch

    import vae_explorer.core.data.registry as registry
    import vae_explorer.gui.window.datasets as datasets
    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig

    monkeypatch.setattr(registry, "locate_dataset", lambda *a, **k: None)
    monkeypatch.setattr(datasets, "locate_dataset", lambda *a, **k: None)
    monkeypatch.setattr(datasets, "ask_download", lambda *a: False)
    torch.manual_seed(0)
    path = save_checkpoint(
        VAE(VAEConfig(latent_dim=2, hidden_dim=16)), tmp_path / "f.safetensors", {"dataset": "fashion-mnist"}
    )
    assert window.open_model(path)
    assert window.state.dataset_key == "mnist" and window.state.model_path == path
    message = window.statusBar().currentMessage()
    assert "Fashion-MNIST, is not on this computer" in message and "MNIST digits shown instead" in message


def test_the_data_label_says_while_the_model_was_trained_on_other_data(window):
    """A Fashion-MNIST model over MNIST (its download declined, or another dataset chosen
    and the shipped model declined) drew a misleading scatter, told only by a status message
    that was cut at 1024 px and went at the next message."""
    import copy

    state, label = window.state, window.dataset_label
    assert state.dataset_key == "mnist" and "not the model's" not in label.text()
    other = copy.deepcopy(state.model)
    state.set_model(other, {**state.model_meta, "dataset": "fashion-mnist"}, None)
    assert "not the model's (Fashion-MNIST)" in label.text()
    assert "trained on Fashion-MNIST" in label.toolTip() and label.styleSheet()
    window.statusBar().showMessage("something else")  # (a later message does not hide it)
    assert "not the model's" in label.text()
    state.set_model(copy.deepcopy(other), {**state.model_meta, "dataset": "mnist"}, None)
    assert "not the model's" not in label.text() and not label.styleSheet()
    assert label.toolTip() == label.text()


def test_a_model_refused_on_its_own_data_leaves_the_data_shown_before(window, monkeypatch):
    """A model whose weights overflow only on its own dataset's images passed the probe on
    the data shown, then was refused on its own: the window kept the old model but showed it
    on the refused model's dataset (the legend, the scatter, the Training form all changed)."""
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.data import user_data_dir
    from vae_explorer.core.model import VAE, VAEConfig

    # A stand-in for Fashion-MNIST whose first two pixels are lit: MNIST's never are.
    folder = user_data_dir() / "fashion-mnist"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28), np.uint8)
    images[:, 0, :2] = 255
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, 60).astype(np.uint8))
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    with torch.no_grad():  # hidden unit 0 sees only those pixels; its log-variance weight
        model.enc_hidden.weight[0] = 0.0  # overflows exp() once it is not 0
        model.enc_hidden.weight[0, :2] = 10.0
        model.enc_hidden.bias[0] = 0.0
        model.enc_logvar.weight[:, 0] = 6.3e36
    path = user_data_dir() / "flipped-fashion.safetensors"
    save_checkpoint(model, path, {"dataset": "fashion-mnist"})
    before, shown = window.state.model, window.state.test_set
    assert window.state.dataset_key == "mnist"
    assert not window.open_model(path)
    assert "flipped-fashion.safetensors: the encoder gives non-finite values" in (window.last_error or "")
    assert window.state.model is before
    assert window.state.dataset_key == "mnist" and window.state.test_set is shown
    assert window.training.dataset.currentData() == "mnist"
    assert window.menus.datasets["mnist"].isChecked()
    assert window.scatter.cloud.points()[0].shape == (10_000,)


def test_a_download_that_ends_during_a_run_says_when_its_data_can_be_shown(
    window, qtbot, monkeypatch, tmp_path
):
    """The dataset cannot change while a run trains: a download ending then raised the
    error "stop the training run before changing the dataset" for a change never asked for."""
    import vae_explorer.gui.window.downloads as dd

    monkeypatch.setattr(dd, "download_dataset", lambda name, progress=None: tmp_path)
    monkeypatch.setattr(window.trainer, "is_running", lambda: True)
    errors = []
    monkeypatch.setattr(window, "show_error", lambda *a: errors.append(a))
    with qtbot.waitSignal(window.downloader.finished, timeout=5000):
        window.download_dataset("fashion-mnist")
    QApplication.processEvents()
    assert errors == []
    assert "Downloaded Fashion-MNIST: choose it in the Dataset menu" in window.statusBar().currentMessage()
    assert window.state.dataset_key == "mnist"
    monkeypatch.undo()  # (the window's teardown checks that no run is left)

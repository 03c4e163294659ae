"""Bad input through the real window (issue 5): each case gets a clear message, the
previous state stays, and no exception escapes a Qt callback (pytest-qt fails on those)."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import shutil
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoint_files import rewrite_header
from gui_helpers import data_pos, decode, send_mouse, set_view
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from vae_explorer.core import checkpoints as ck
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.data import write_idx
from vae_explorer.core.model import VAE, VAEConfig

LEFT = Qt.MouseButton.LeftButton


_STATIC_DIALOGS: list[str] = []


# --- helpers ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_blocking_dialogs(monkeypatch) -> None:
    """QMessageBox's static helpers would block: record their text and answer Ok."""
    _STATIC_DIALOGS.clear()

    def record(*args, **kwargs):
        _STATIC_DIALOGS.append(" ".join(str(a) for a in args[1:]))
        return QMessageBox.StandardButton.Ok

    for name in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, record)


def told(window) -> str:
    """Everything the user was shown: open message boxes, static dialogs, the status bar."""
    texts = [b.text() for b in window.findChildren(QMessageBox) if b.isVisible()]
    return "\n".join([*texts, *_STATIC_DIALOGS, window.statusBar().currentMessage()])


def weights(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def small_run(window, epochs: int = 2) -> None:
    """Shrink the form's run to seconds: 2,000 images, batch 50, a small network."""
    t = window.training
    t.train_limit = 2000
    t.torch_threads = 1
    t.epochs.setValue(epochs)
    t.batch_size.setValue(50)
    t.hidden_dim.setValue(64)


def assert_scatter_decodes(window, qtbot) -> None:
    """A click on the scatter decodes a finite image of the current model."""
    set_view(window)
    vp = window.scatter.plot.viewport()
    qtbot.mouseClick(vp, LEFT, pos=data_pos(window, 0.7, -0.4).toPoint())
    image = window.preview.canvas.image()
    assert np.isfinite(image).all()
    np.testing.assert_allclose(image, decode(window.model, window.preview.z), atol=1e-6)


# --- datasets -----------------------------------------------------------------------------
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
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.open_folder_action.trigger()


def test_a_good_idx_folder_opens(window, tmp_path, monkeypatch):
    """The control for the faults below: the same folder, unharmed, opens."""
    folder = _idx_folder(tmp_path / "data")
    _open_folder(window, monkeypatch, folder)
    assert window.dataset_key == str(folder) and len(window.test_set) == 60
    assert window.scatter.cloud.points()[0].shape == (60,)


@pytest.mark.parametrize("fault", list(DATA_FAULTS))
def test_a_bad_idx_folder_is_refused_and_the_dataset_stays(window, tmp_path, monkeypatch, fault):
    name, damage, phrase = DATA_FAULTS[fault]
    folder = _idx_folder(tmp_path / "data")
    damage(folder / name)
    before = window.test_set
    _open_folder(window, monkeypatch, folder)
    text = told(window)
    assert phrase in text and name.split(".")[0] in text, text
    assert window.last_error is not None and phrase in window.last_error
    assert window.dataset_key == "mnist" and window.test_set is before
    assert window.scatter.cloud.points()[0].shape == (10_000,)
    assert window.training.dataset.currentData() == "mnist"
    assert window.dataset_actions["mnist"].isChecked()


def test_a_folder_of_empty_splits(window, qtbot, tmp_path, monkeypatch):
    """Zero images: shown as an empty scatter; training says the training set is empty."""
    folder = _idx_folder(tmp_path / "data", n_train=0, n_test=0)
    _open_folder(window, monkeypatch, folder)
    assert window.dataset_key == str(folder) and len(window.test_set) == 0
    window.grid.refresh()
    window.samples.new_button.click()
    assert not window.canvas.random_button.isEnabled()
    small_run(window)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running() and bool(window.last_error), timeout=10_000)
    assert "training set is empty" in told(window)


@pytest.mark.parametrize("damage, phrase", [(Path.unlink, "missing"), (_truncate, "truncated")])
def test_a_bad_training_split_fails_at_start(window, qtbot, tmp_path, monkeypatch, damage, phrase):
    """The test split alone is enough to look at; training then names the bad file."""
    folder = _idx_folder(tmp_path / "data")
    damage(folder / "train-images-idx3-ubyte.gz")
    _open_folder(window, monkeypatch, folder)
    assert window.dataset_key == str(folder)
    model, before = window.model, weights(window.model)
    small_run(window)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running() and bool(window.last_error), timeout=10_000)
    assert "train-images-idx3-ubyte" in told(window) and phrase in window.last_error
    assert "failed" in window.training.progress.format()
    assert window.model is model and same_weights(weights(model), before)
    assert window.training.start_button.isEnabled()


# --- downloads ----------------------------------------------------------------------------
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
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def _http_404(url, timeout=None):
    raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]


_NOT_FASHION = gzip.compress(b"not fashion")

DOWNLOAD_FAULTS = {
    "no network": (_no_network, "check the network connection"),
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
    before = window.test_set
    with qtbot.waitSignal(window.downloader.failed, timeout=10_000):
        window.download_dataset("fashion-mnist")
    qtbot.waitUntil(lambda: not window.downloader.is_running(), timeout=5000)
    text = told(window)
    assert "Download failed" in text and phrase in text, text
    assert window._download_dialog is None
    assert window.dataset_key == "mnist" and window.test_set is before
    assert not dest.exists() or list(dest.iterdir()) == []  # no partial or corrupt file


# --- opening checkpoints ------------------------------------------------------------------
class _Exploit:
    """Unpickling this would create the file named by ``flag``."""

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))




def _good_file(path: Path) -> Path:
    torch.manual_seed(7)
    return save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=32)), path, {"dataset": "mnist"})


def _nan_weights(path: Path) -> None:
    model = load_checkpoint(path).model
    with torch.no_grad():
        model.dec_out.bias[3] = float("nan")
    save_checkpoint(model, path, {"dataset": "mnist"})


def _meta(key: str, value: str):
    return lambda p: rewrite_header(p, lambda h: h["__metadata__"].update({key: value}))


BAD_CHECKPOINTS = {
    "truncated in the header": (lambda p: p.write_bytes(p.read_bytes()[:40]), ("truncated inside",)),
    "truncated in the weights": (lambda p: p.write_bytes(p.read_bytes()[:-1000]), ("truncated",)),
    "newer format": (_meta("format_version", "99"), ("newer",)),
    "shapes do not match": (_meta("config", '{"latent_dim": 3, "hidden_dim": 32}'), ("shape",)),
    "no metadata": (lambda p: rewrite_header(p, lambda h: h.pop("__metadata__")), ("not a VAE Explorer",)),
    "torch.save zip": (lambda p: torch.save({"w": torch.zeros(3)}, p), ("zip",)),
    "config not JSON": (_meta("config", "{not json"), ("not JSON",)),
    "NaN weights": (lambda p: _nan_weights(p), ("NaN",)),
}


def _open_via_menu(window, monkeypatch, path: Path) -> None:
    """File ▸ Open model…, the dialog answering ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_action.trigger()


def _assert_model_kept(window, model, before, path, title) -> None:
    assert window.model is model and same_weights(weights(window.model), before)
    assert window.model_path == path and window.windowTitle() == title
    assert window.latents is not None and np.isfinite(window.latents[0]).all()


def test_a_pickle_checkpoint_is_refused_without_running_it(window, qtbot, tmp_path, monkeypatch):
    flag = tmp_path / "PWNED"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Exploit(str(flag))))
    model, before, path, title = window.model, weights(window.model), window.model_path, window.windowTitle()
    _open_via_menu(window, monkeypatch, evil)
    assert not flag.exists(), "unpickling ran code from the file"
    text = told(window)
    assert "pickle" in text and "evil.safetensors" in text
    _assert_model_kept(window, model, before, path, title)
    assert_scatter_decodes(window, qtbot)


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_a_bad_checkpoint_is_refused_and_the_model_stays(window, qtbot, tmp_path, monkeypatch, case):
    damage, phrases = BAD_CHECKPOINTS[case]
    bad = _good_file(tmp_path / "bad.safetensors")
    damage(bad)
    model, before, path, title = window.model, weights(window.model), window.model_path, window.windowTitle()
    _open_via_menu(window, monkeypatch, bad)
    text = told(window)
    assert str(bad) in text and any(p in text for p in phrases), text
    assert "Cannot open the model" in window.statusBar().currentMessage()
    _assert_model_kept(window, model, before, path, title)
    assert_scatter_decodes(window, qtbot)


def test_an_unharmed_checkpoint_opens(window, tmp_path, monkeypatch):
    """The control for the damage above."""
    good = _good_file(tmp_path / "good.safetensors")
    _open_via_menu(window, monkeypatch, good)
    assert window.model_path == good and window.model.config.hidden_dim == 32


# --- saving -------------------------------------------------------------------------------
def _save_via_menu(window, monkeypatch, path: Path) -> None:
    """File ▸ Save model as…, the dialog answering ``path``."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_as_action.trigger()


def _read_only(monkeypatch) -> None:
    """A read-only folder, as root sees one: creating the temporary file is refused."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ck.tempfile, "mkstemp", refuse)


def _full_disk(monkeypatch) -> None:
    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.os, "fsync", no_space)


@pytest.mark.parametrize(
    "fault, phrase", [(_read_only, "Permission denied"), (_full_disk, "No space left")]
)
def test_a_failed_save_keeps_the_previous_file(window, tmp_path, monkeypatch, fault, phrase):
    path = tmp_path / "mine.safetensors"
    _save_via_menu(window, monkeypatch, path)
    assert window.model_path == path
    good = path.read_bytes()
    torch.manual_seed(9)
    window.set_model(VAE(VAEConfig(hidden_dim=16)), {"dataset": "mnist"}, None)
    fault(monkeypatch)
    _save_via_menu(window, monkeypatch, path)
    text = told(window)
    assert phrase in text and "Cannot save the model" in text, text
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.safetensors", "settings.ini"]
    assert window.model_path is None  # still unsaved: the title must not claim otherwise
    assert "unsaved" in window.windowTitle()
    monkeypatch.undo()
    assert load_checkpoint(path).config.hidden_dim == 64


# --- training -----------------------------------------------------------------------------
def test_a_diverging_run_stops_tells_and_keeps_a_usable_model(window, qtbot):
    small_run(window)
    t = window.training
    t.lr.setValue(1e6)
    assert t.lr.value() == t.lr.maximum() == 1.0  # the form caps the rate ...
    t.lr.setMaximum(1e6)  # ... so lift the cap to force the blow-up
    t.lr.setValue(1e6)
    assert t.job().train_config.lr == 1e6
    model, before = window.model, weights(window.model)
    qtbot.mouseClick(t.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30_000)
    text = told(window)
    assert "non-finite" in text and "learning rate" in text, text
    assert "failed" in t.progress.format() and t.start_button.isEnabled()
    # No good epoch ended before the blow-up: the model from before the run stays.
    assert window.model is model and same_weights(weights(model), before)
    assert all(np.isfinite(v).all() for v in weights(window.model).values())
    assert np.isfinite(window.latents[0]).all()
    assert_scatter_decodes(window, qtbot)
    assert window.open_action.isEnabled()


def test_a_run_that_diverges_after_a_good_epoch_keeps_that_epoch(window, qtbot, monkeypatch):
    """The last good snapshot becomes the model; the blow-up's weights never reach the GUI."""
    import vae_explorer.gui.training_worker as tw
    from vae_explorer.core.training import TrainingFailed

    real_train = tw.train

    def good_then_nan(model, images, config, test_images=None, control=None):
        yield from real_train(model, images, config, test_images, control)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))
        yield TrainingFailed("the loss became non-finite (inf or NaN) at epoch 2, batch 3", 2, 3)

    monkeypatch.setattr(tw, "train", good_then_nan)
    small_run(window, epochs=1)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30_000)
    assert "non-finite" in told(window)
    assert window.snapshots_applied >= 1
    assert all(np.isfinite(v).all() for v in weights(window.model).values())
    assert_scatter_decodes(window, qtbot)


def test_the_form_refuses_zero_and_negative_values(window, qtbot):
    t = window.training
    ints = (t.latent_dim, t.hidden_dim, t.epochs, t.batch_size)
    for spin in ints:
        spin.setValue(0)
        spin.setValue(-5)
        assert spin.value() >= 1
    t.lr.setValue(0.0)
    t.lr.setValue(-1.0)
    t.beta.setValue(-2.0)
    # ... and typing them: the spin boxes reject the minus sign and correct a zero.
    for spin in (t.epochs, t.batch_size):
        spin.setFocus()
        spin.selectAll()
        QTest.keyClicks(spin, "-0")
        QTest.keyClick(spin, Qt.Key.Key_Return)
        assert spin.value() >= 1
    t.lr.selectAll()
    QTest.keyClicks(t.lr, "0")
    QTest.keyClick(t.lr, Qt.Key.Key_Return)
    job = t.job()
    c = job.train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    assert job.model_config.latent_dim >= 1 and job.model_config.hidden_dim >= 1
    assert t.lr.minimum() > 0 and t.beta.minimum() == 0


def test_a_missing_device_is_reported(window, qtbot, capfd):
    """A device in the list that this machine lacks (a stale setting, a pulled eGPU)."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    t = window.training
    small_run(window)
    t.device.addItem("CUDA", "cuda")
    t.device.setCurrentIndex(t.device.count() - 1)
    model, before = window.model, weights(window.model)
    qtbot.mouseClick(t.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running() and bool(window.last_error), timeout=20_000)
    text = told(window)
    assert "CUDA was requested" in text and "choose 'cpu'" in text, text
    assert "DeviceError" not in text  # plain words, not an exception's class name
    assert "failed" in t.progress.format() and t.start_button.isEnabled()
    assert window.model is model and same_weights(weights(model), before)
    assert "Traceback" not in capfd.readouterr().err  # a user error, not a crash


def test_stop_pressed_twice(window, qtbot):
    small_run(window, epochs=500)
    done: list[object] = []
    window.runner.done.connect(done.append)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    qtbot.mouseClick(window.training.stop_button, LEFT)
    qtbot.mouseClick(window.training.stop_button, LEFT)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=5_000)
    QApplication.processEvents()
    window.stop_training()  # after the end too: nothing to stop, nothing breaks
    qtbot.mouseClick(window.training.stop_button, LEFT)
    QApplication.processEvents()
    assert len(done) == 1
    assert "stopped" in window.training.progress.format()
    assert not window.training.stop_button.isEnabled()
    assert window.last_error is None
    assert_scatter_decodes(window, qtbot)


def test_start_pressed_while_running_starts_no_second_worker(window, qtbot):
    small_run(window, epochs=500)
    started: list[object] = []
    window.runner.started.connect(started.append)
    t = window.training
    qtbot.mouseClick(t.start_button, LEFT)
    thread = window.runner._thread
    assert thread is not None and not t.start_button.isEnabled()
    qtbot.mouseClick(t.start_button, LEFT)  # disabled: ignored
    t.start_button.click()  # even a programmatic click of a disabled button does nothing
    window.start_training(t.job())  # the path the button takes, past the button
    qtbot.waitUntil(lambda: len(started) >= 1, timeout=20_000)
    assert window.runner._thread is thread
    window.stop_training()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=5_000)
    assert len(started) == 1


def test_closing_the_window_during_training(qtbot, small_checkpoint, capfd):
    from vae_explorer.gui.main_window import MainWindow

    w = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w)
    w.show()
    w.canvas.live_check.setChecked(False)  # time the training worker, not a canvas job
    small_run(w, epochs=500)
    qtbot.mouseClick(w.training.start_button, LEFT)
    qtbot.waitUntil(lambda: w.training.curves.series("loss")[0].size > 0, timeout=30_000)
    thread = w.runner._thread
    t0 = time.perf_counter()
    w.close()
    took = time.perf_counter() - t0
    assert took < 1.0, f"closing took {took:.2f} s"
    assert thread is not None and thread.isFinished()
    assert not w.runner.is_running()
    for _ in range(3):
        QApplication.processEvents()  # late queued events must find a sane window
    assert "Traceback" not in capfd.readouterr().err


# --- canvas and imputation ----------------------------------------------------------------
def _canvas(window, qtbot):
    assert window.canvas is not None
    window.canvas_dock.raise_()
    panel = window.canvas
    panel.live_check.setChecked(False)
    return panel


def _impute(qtbot, panel, method: str) -> np.ndarray:
    panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
    if panel.steps_spin.isEnabled():
        panel.steps_spin.setValue(min(panel.steps_spin.value(), 20))  # keep the test quick
    qtbot.waitUntil(lambda: not panel.runner.is_busy(), timeout=20_000)  # no stale result
    with qtbot.waitSignal(panel.imputed, timeout=20_000) as blocker:
        panel.impute()
    return blocker.args[0]


def _methods(panel) -> list[str]:
    return [panel.method_combo.itemData(i) for i in range(panel.method_combo.count())]


def test_empty_mask_gives_back_the_drawing(window, qtbot):
    panel = _canvas(window, qtbot)
    panel.load_test_digit(3)
    panel.canvas.clear_mask()
    assert not panel.canvas.mask().any()
    for method in _methods(panel):
        out = _impute(qtbot, panel, method)
        np.testing.assert_array_equal(out, panel.canvas.ink())
        assert "0 of 784" in panel.message_label.text()


def test_all_missing_mask_gives_model_images(window, qtbot):
    panel = _canvas(window, qtbot)
    panel.load_test_digit(3)
    panel.canvas.set_mask(np.ones((28, 28), bool))
    for method in _methods(panel):
        out = _impute(qtbot, panel, method)
        assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1, method
        assert "784 of 784" in panel.message_label.text()


def test_strokes_outside_the_canvas(window, qtbot):
    panel = _canvas(window, qtbot)
    canvas = panel.canvas
    canvas.clear()
    r = canvas.canvas_rect()
    outside = [QPointF(r.left() - 40, r.top() - 40), QPointF(r.right() + 60, r.bottom() + 60),
               QPointF(-500, 20), QPointF(20, 10_000)]  # fmt: skip
    for tool in ("ink", "mask"):
        panel.tool_actions[tool].trigger()
        send_mouse(canvas, QEvent.Type.MouseButtonPress, outside[0])
        for p in outside[1:]:
            send_mouse(canvas, QEvent.Type.MouseMove, p)
        send_mouse(canvas, QEvent.Type.MouseButtonRelease, outside[-1], buttons=Qt.MouseButton.NoButton)
    # A stroke that only passes through the canvas leaves ink only inside it.
    ink, mask = canvas.ink(), canvas.mask()
    assert ink.shape == (28, 28) and mask.shape == (28, 28)
    assert np.isfinite(ink).all() and ink.min() >= 0 and ink.max() <= 1
    # A press entirely off the canvas, with no move, paints nothing.
    canvas.clear()
    send_mouse(canvas, QEvent.Type.MouseButtonPress, QPointF(-300, -300))
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, QPointF(-300, -300), buttons=Qt.MouseButton.NoButton)
    assert not canvas.ink().any() and not canvas.mask().any()
    out = _impute(qtbot, panel, "single")
    assert out.shape == (28, 28)


@pytest.mark.parametrize("latent_dim", [1, 10])
def test_unusual_latent_sizes_work_everywhere(window, qtbot, tmp_path, monkeypatch, latent_dim):
    torch.manual_seed(latent_dim)
    path = save_checkpoint(
        VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=32)), tmp_path / f"z{latent_dim}.safetensors",
        {"dataset": "mnist"},
    )  # fmt: skip
    _open_via_menu(window, monkeypatch, path)
    assert window.model.latent_dim == latent_dim and window.model_path == path
    s = window.scatter
    assert s.x_dim.count() == latent_dim and window.latents[0].shape == (10_000, latent_dim)
    if latent_dim > 2:
        assert s.x_dim.isEnabled()
        s.x_dim.setCurrentIndex(9)
        s.y_dim.setCurrentIndex(4)
        assert s.dims == (9, 4)
        np.testing.assert_allclose(s.cloud.points()[0], window.latents[0][:, 9])
    else:
        assert not s.x_dim.isEnabled()
        assert np.all(s.cloud.points()[1] == 0)
    # Scatter click and drag.
    set_view(window)
    vp = s.plot.viewport()
    qtbot.mouseClick(vp, LEFT, pos=data_pos(window, 0.5, -1.0).toPoint())
    z = window.preview.z
    assert z.shape == (latent_dim,)
    np.testing.assert_allclose(window.preview.canvas.image(), decode(window.model, z), atol=1e-6)
    if latent_dim > 2:
        assert abs(z[9] - 0.5) < 0.05 and abs(z[4] + 1.0) < 0.05
        assert np.count_nonzero(z) <= 2
    send_mouse(vp, QEvent.Type.MouseButtonPress, data_pos(window, -1, 1))
    send_mouse(vp, QEvent.Type.MouseMove, data_pos(window, 1, 1), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: window.preview.z[s.dims[0]] > 0.9, timeout=2000)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, data_pos(window, 1, 1), buttons=Qt.MouseButton.NoButton)
    # Grid: every tile decodes its own z.
    window.grid_dock.raise_()
    window.grid.refresh()
    zt = window.grid.tile_latent(1, 2)
    assert zt.shape == (latent_dim,)
    n = window.grid.grid_size()
    np.testing.assert_allclose(window.grid.mosaic[28:56, 56:84], decode(window.model, zt), atol=1e-6)
    assert window.grid.mosaic.shape == (28 * n, 28 * n)
    # Canvas: encoding has the model's size, imputation works, the posterior is drawn.
    panel = _canvas(window, qtbot)
    with qtbot.waitSignal(panel.encoded, timeout=5000) as blocker:
        panel.load_test_digit(5)
    assert blocker.args[0].shape == (latent_dim,)
    assert window.posterior is not None and window.posterior[0].shape == (latent_dim,)
    panel.apply_preset_mask("middle_rows")
    out = _impute(qtbot, panel, "single")
    assert np.isfinite(out).all()
    # ... and back to a 2-d model: nothing stale survives.
    _open_via_menu(window, monkeypatch, _good_file(tmp_path / "z2.safetensors"))
    assert s.dims == (0, 1) and window.preview.z.shape == (2,)
    assert window.posterior is None or window.posterior[0].shape == (2,)


# --- settings -----------------------------------------------------------------------------
def test_a_corrupt_settings_file_gives_a_sane_window(qtbot, small_checkpoint):
    """A hand-edited or damaged settings file: bad values are ignored, the form stays valid."""
    from vae_explorer.gui.main_window import MainWindow
    from vae_explorer.gui.theme import app_settings

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
    assert w.grid.grid_size() >= 2 and w.dataset_key == "mnist"
    s.setValue("train/form", json.dumps({"epochs": 0, "batch_size": -5, "lr": -1.0, "beta": -1.0}))
    s.sync()
    w2 = MainWindow(small_checkpoint, load_default=False)
    qtbot.addWidget(w2)
    c = w2.training.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    w.close()
    w2.close()


def test_a_batch_larger_than_the_training_set(window, qtbot):
    small_run(window, epochs=1)
    window.training.train_limit = 300
    window.training.batch_size.setValue(1000)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30_000)
    assert window.last_error is None
    assert "finished after 1 epoch" in window.training.progress.format()
    assert window.model_meta["epochs_completed"] == 1


def test_the_canvas_undo_history_is_bounded(window):
    """Hours of painting must not grow memory without limit."""
    from vae_explorer.gui.paint_canvas import UNDO_LIMIT

    canvas = window.canvas.canvas
    for i in range(UNDO_LIMIT + 50):
        canvas.set_ink(np.full((28, 28), (i % 200 + 1) / 255, np.float32))
    assert canvas.undo_stack.count() == UNDO_LIMIT
    assert canvas.undo_stack.canUndo()


@pytest.mark.parametrize(
    "meta",
    [
        {"history": [1, "a", None, {"epoch": "x", "train_loss": "nan"}], "dataset": 42},
        {"history": {"epoch": 1}, "train_config": [1, 2], "epochs_completed": "many"},
        {"train_config": {"epochs": -3, "lr": "fast", "batch_size": 1e308, "beta": float("nan")}},
        {"history": [{"epoch": 1, "train_loss": float("inf"), "test_elbo": None}], "dataset": "/etc"},
        {"dataset": "fashion-mnist-but-not-really", "history": [{"epoch": i} for i in range(3)]},
        {"train_config": {"epochs": 10**400, "seed": -(10**30)}, "history": [{"epoch": 10**400}]},
    ],
)
def test_odd_metadata_in_a_valid_checkpoint(window, qtbot, tmp_path, monkeypatch, meta):
    """Metadata the window reads (history, train_config, dataset) comes from the file too."""
    torch.manual_seed(4)
    path = save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=32)), tmp_path / "odd.safetensors", meta)
    _open_via_menu(window, monkeypatch, path)
    assert window.model_path == path  # the weights are fine: it opens
    assert window.dataset_key == "mnist"
    c = window.training.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    assert_scatter_decodes(window, qtbot)
    assert window.save_model(tmp_path / "again.safetensors")


_EXIT_SCRIPT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from vae_explorer.gui.main_window import MainWindow

app = QApplication(sys.argv[:1])
w = MainWindow(sys.argv[1], load_default=False)
t = w.training
t.train_limit, t.torch_threads = 2000, 1
t.epochs.setValue(500)
t.batch_size.setValue(50)
t.hidden_dim.setValue(64)
w.show()
w.runner.batchMetrics.connect(lambda ev: QTimer.singleShot(0, w.close))
QTimer.singleShot(0, t.start_button.click)
QTimer.singleShot(60_000, lambda: app.exit(3))  # a safety net, never the way out
sys.exit(app.exec())
"""


def test_the_app_exits_cleanly_when_closed_during_training(small_checkpoint, tmp_path):
    """The whole process: close mid-run, the event loop ends, exit status 0, no traceback."""
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VAE_EXPLORER_SETTINGS": str(tmp_path / "s.ini")}
    proc = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, str(small_checkpoint)],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    err = "\n".join(line for line in proc.stderr.splitlines() if "propagateSizeHints" not in line)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "QThread" not in err, err


# --- exports and opening during a run -----------------------------------------------------
@pytest.mark.parametrize("name", ["view.png", "view.svg", "z.csv"])
def test_an_export_that_cannot_be_written_is_reported(window, tmp_path, name):
    target = tmp_path / "no such folder" / name
    export = window.export_latents if name.endswith(".csv") else window.export_view
    assert not export(target)
    text = told(window)
    assert "Export failed" in text and ("no such folder" in text.lower() or "No such file" in text), text
    assert not target.exists()


def test_a_png_the_image_writer_refuses_is_reported(window, tmp_path, monkeypatch):
    """QImage.save fails quietly (permissions, full disk): the window must not say Exported."""
    from PySide6.QtGui import QImage

    monkeypatch.setattr(QImage, "save", lambda self, *a, **k: False)
    assert not window.export_view(tmp_path / "view.png")
    assert "could not be written" in told(window)
    assert not window.statusBar().currentMessage().startswith("Exported")


def test_opening_a_model_during_a_run_is_refused(window, qtbot, tmp_path):
    """(The menu item is disabled while training; the path-taking method refuses too, since
    the run's final snapshot would otherwise replace the opened model.)"""
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    assert not window.open_action.isEnabled()
    assert not window.open_model(_good_file(tmp_path / "other.safetensors"))
    assert "stop the training run" in told(window)
    assert window.runner.is_running()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=5_000)
    assert window.open_action.isEnabled()
    assert window.open_model(tmp_path / "other.safetensors")
    qtbot.wait(SCATTER_SETTLE_MS)
    assert window.model_path == tmp_path / "other.safetensors"


SCATTER_SETTLE_MS = 400  # longer than the window's snapshot throttle

"""The IDX reader, dataset loading and the download: every fault gets a named error."""

import dataclasses
import gzip
import hashlib
import http.client
import io
import socket
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from vae_explorer.core import data as data_mod
from vae_explorer.core.data import (
    DatasetError,
    IDXError,
    download_dataset,
    load_dataset,
    read_idx,
    write_idx,
)
from vae_explorer.core.data import download as download_mod


def test_bundled_mnist_matches_the_published_counts(mnist_test):
    train = load_dataset("mnist", "train")
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert mnist_test.images.shape == (10000, 28, 28)
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist_test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist_test.classes == [str(d) for d in range(10)]


def test_bundled_files_have_the_published_checksums():
    folder = data_mod.BUNDLED_DATASETS / "mnist"
    for stem, digest in data_mod.DATASETS["mnist"].sha256.items():
        assert hashlib.sha256(gzip.decompress((folder / f"{stem}.gz").read_bytes())).hexdigest() == digest
    assert (folder / "README.md").is_file()  # the CC BY-SA 3.0 attribution travels with it


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Debian package absent")
def test_fashion_mnist_from_the_debian_package_keeps_class_names():
    ds = load_dataset("fashion-mnist", "test")
    assert len(ds) == 10000 and ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


def _write_split(folder: Path, n=5, compress=True, split="train"):
    folder.mkdir(parents=True, exist_ok=True)
    img, lab = data_mod.SPLIT_FILES[split]
    suffix = ".gz" if compress else ""
    rng = np.random.default_rng(0)
    write_idx(folder / (img + suffix), rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), compress)
    write_idx(folder / (lab + suffix), rng.integers(0, 10, n, dtype=np.uint8), compress)
    return folder / (img + suffix), folder / (lab + suffix)


@pytest.mark.parametrize("compress", [True, False])
def test_any_folder_of_idx_files_via_root(tmp_path, compress):
    _write_split(tmp_path, n=7, compress=compress)
    ds = load_dataset("mnist", "train", root=tmp_path)
    assert ds.images.shape == (7, 28, 28) and ds.labels.shape == (7,)


def test_read_idx_round_trips_every_dtype(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        write_idx(tmp_path / "a.idx", a, compress=False)
        b = read_idx(tmp_path / "a.idx")
        assert b.dtype == np.dtype(dtype) and np.array_equal(a, b)


def _raw(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


@pytest.mark.parametrize(
    "mutate, fault",
    [
        (lambda b: b"", "empty"),
        (lambda b: b[:3], "truncated"),
        (lambda b: b"\x01\x00" + b[2:], "magic"),
        (lambda b: b[:2] + b"\x07" + b[3:], "data type"),
        (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
        (lambda b: b[:-10], "truncated"),
        (lambda b: b + b"extra", "unexpected data"),
        (lambda b: b[:4] + (10**9).to_bytes(4, "big") + b[8:], "truncated"),
        (lambda b: b[:4] + (2**31).to_bytes(4, "big") + (2**31).to_bytes(4, "big") + b[12:], "truncated"),
    ],
)  # fmt: skip
def test_each_header_and_size_fault_names_file_and_fault(tmp_path, mutate, fault):
    img, _ = _write_split(tmp_path / "ok", compress=False)
    bad = tmp_path / "bad.idx"
    bad.write_bytes(mutate(img.read_bytes()))
    with pytest.raises(IDXError) as info:
        read_idx(bad)
    assert info.value.path == str(bad) and fault in str(info.value)


def test_huge_declared_size_in_gzip_is_refused_before_reading(tmp_path):
    img, _ = _write_split(tmp_path)
    raw = _raw(img)
    img.write_bytes(gzip.compress(raw[:4] + (2**31).to_bytes(4, "big") + raw[8:]))
    with pytest.raises(IDXError, match="implausibly large"):
        read_idx(img)


def test_truncated_gzip(tmp_path):
    img, _ = _write_split(tmp_path)
    img.write_bytes(img.read_bytes()[: len(img.read_bytes()) // 2])
    with pytest.raises(IDXError, match="truncated|corrupt") as info:
        read_idx(img)
    assert str(img) in str(info.value)


def test_gz_name_that_is_not_gzip(tmp_path):
    p = tmp_path / "x-idx3-ubyte.gz"
    p.write_bytes(b"this is not gzip at all")
    with pytest.raises(IDXError, match="not a gzip file"):
        read_idx(p)


def test_corrupt_gzip_stream(tmp_path):
    img, _ = _write_split(tmp_path)
    raw = bytearray(img.read_bytes())
    raw[20:40] = b"\xff" * 20
    img.write_bytes(bytes(raw))
    with pytest.raises(IDXError):
        read_idx(img)


def _replace(path: Path, array: np.ndarray):
    write_idx(path, array, compress=path.suffix == ".gz")


@pytest.mark.parametrize(
    "which, array, fault",
    [
        ("img", np.zeros((5, 27, 28), np.uint8), "28 x 28"),
        ("img", np.zeros((5, 784), np.uint8), "28 x 28"),
        ("img", np.zeros((5, 28, 28), np.float32), "unsigned bytes"),
        ("lab", np.zeros((4,), np.uint8), "4 labels but"),
        ("lab", np.zeros((5, 2), np.uint8), "one-dimensional"),
        ("lab", np.full((5,), 10, np.uint8), "out of range"),
        ("lab", np.zeros((5,), np.int32), "unsigned bytes"),
    ],
)  # fmt: skip
def test_semantic_faults(tmp_path, which, array, fault):
    img, lab = _write_split(tmp_path)
    target = img if which == "img" else lab
    _replace(target, array)
    with pytest.raises(IDXError, match=fault) as info:
        load_dataset("mnist", "train", root=tmp_path)
    assert info.value.path == str(target)


def test_folder_with_a_missing_file(tmp_path):
    _, lab = _write_split(tmp_path)
    lab.unlink()
    with pytest.raises(DatasetError, match="missing train-labels-idx1-ubyte"):
        load_dataset("mnist", "train", root=tmp_path)


def test_cannot_train_on_names_what_a_run_would_miss(tmp_path):
    """Known before a run asks to drop an unsaved model: no training files, no folder, the
    images given to explore(); nothing against a complete folder or a registered name."""
    from vae_explorer.core.data import OWN_IMAGES, cannot_train_on

    img, lab = _write_split(tmp_path)
    assert cannot_train_on(str(tmp_path)) is None
    assert cannot_train_on("mnist") is None
    lab.unlink()
    told = cannot_train_on(str(tmp_path))
    assert told is not None and "no training split" in told and "train-labels-idx1-ubyte" in told
    assert "train-images" not in told
    img.unlink()
    told = cannot_train_on(str(tmp_path))
    assert told is not None and "train-images-idx3-ubyte" in told and "train-labels" in told
    told = cannot_train_on(str(tmp_path / "gone"))
    assert told is not None and "no such folder" in told
    told = cannot_train_on(OWN_IMAGES)
    assert told is not None and "explore()" in told


def test_wrong_shape_is_refused_from_the_header_without_inflating_the_body(tmp_path):
    img, _ = _write_split(tmp_path)
    header = bytes([0, 0, 8, 3]) + np.asarray((200_000, 32, 32), ">u4").tobytes()
    img.write_bytes(gzip.compress(header))  # declares 200 MB, holds none of it
    with pytest.raises(IDXError, match="N x 28 x 28"):
        load_dataset("mnist", "train", root=tmp_path)


def test_unknown_split_without_root():
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset("mnist", "valid")


def test_unknown_names_and_folders(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("cifar", "train")
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset("mnist", "validation", root=_write_split(tmp_path)[0].parent)
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset("mnist", "train", root=tmp_path / "nope")


def test_missing_downloadable_dataset_says_what_to_do(monkeypatch, tmp_path):
    info = dataclasses.replace(data_mod.DATASETS["fashion-mnist"], search_dirs=[tmp_path / "none"])
    monkeypatch.setitem(data_mod.DATASETS, "fashion-mnist", info)
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "train")


# --- download --------------------------------------------------------------------------
class _FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes, declared: int | None = None):
        super().__init__(payload)
        self.headers = {"Content-Length": str(declared if declared is not None else len(payload))}


def _fake_dataset(monkeypatch, tmp_path):
    """A downloadable dataset whose four files are served from memory."""
    files = {}
    rng = np.random.default_rng(1)
    for img, lab in data_mod.SPLIT_FILES.values():
        n = 4
        for stem, arr in ((img, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                          (lab, rng.integers(0, 10, n, dtype=np.uint8))):  # fmt: skip
            raw = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes() + arr.tobytes()
            files[stem] = raw
    info = data_mod.DatasetInfo(
        "fake", "Fake", [str(i) for i in range(10)], [tmp_path / "nowhere"], url="https://example.invalid/",
        sha256={k: hashlib.sha256(v).hexdigest() for k, v in files.items()},
    )  # fmt: skip
    monkeypatch.setitem(data_mod.DATASETS, "fake", info)
    return files


def test_download_checks_and_writes_atomically(monkeypatch, tmp_path):
    files = _fake_dataset(monkeypatch, tmp_path)
    progress = []

    def opener(url, timeout):
        return _FakeResponse(gzip.compress(files[url.rsplit("/", 1)[1][:-3]]))

    dest = download_dataset("fake", tmp_path / "cache", progress=lambda *a: progress.append(a), opener=opener)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{k}.gz" for k in files)
    assert progress and progress[-1][1] == progress[-1][2]
    assert len(load_dataset("fake", "test", root=dest)) == 4


@pytest.mark.parametrize(
    "failure, message",
    [
        ("offline", "Check the network"),
        ("dns", r"\(Name or service not known\)\. Check"),  # not "[Errno -2] Name or ..."
        ("incomplete", "could not download"),
        ("oversized", "more than"),
        ("http", "HTTP 404"),
        ("short", "stopped after"),
        ("checksum", "checksum mismatch"),
    ],
)
def test_download_failures_leave_no_partial_file(monkeypatch, tmp_path, failure, message):
    files = _fake_dataset(monkeypatch, tmp_path)

    def opener(url, timeout):
        stem = url.rsplit("/", 1)[1][:-3]
        payload = gzip.compress(files[stem])
        if failure == "offline":
            raise urllib.error.URLError("Name or service not known")
        if failure == "dns":
            raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
        if failure == "http":
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        if failure == "incomplete":
            raise http.client.IncompleteRead(b"partial")
        if failure == "oversized":
            return _FakeResponse(b"\0" * (download_mod._MAX_DOWNLOAD_BYTES + (1 << 16)), declared=0)
        if failure == "short":
            return _FakeResponse(payload[: len(payload) // 2], declared=len(payload))
        return _FakeResponse(gzip.compress(files[stem] + b"x"))

    dest = tmp_path / "cache"
    with pytest.raises(DatasetError, match=message):
        download_dataset("fake", dest, opener=opener)
    assert list(dest.iterdir()) == []


# --- DatasetRef ---------------------------------------------------------------------------
def test_dataset_ref_names_a_registered_set_or_a_folder(tmp_path):
    from vae_explorer.core.data import DatasetRef

    mnist = DatasetRef.from_key("mnist")
    assert (mnist.key, mnist.name, mnist.root) == ("mnist", "mnist", None)
    assert mnist.title == "MNIST digits" and mnist.metadata_name == "mnist"
    fashion = DatasetRef.from_key("fashion-mnist")
    assert fashion.title == "Fashion-MNIST" and fashion.metadata_name == "fashion-mnist"
    folder = DatasetRef.from_key(str(tmp_path / "my digits"))
    assert folder.root == tmp_path / "my digits" and folder.key == str(tmp_path / "my digits")
    assert folder.title == "Folder: my digits" and folder.metadata_name == "custom"
    assert DatasetRef.from_key(folder.key) == folder  # key round-trips
    with pytest.raises(DatasetError):
        DatasetRef.from_key("")


def test_dataset_ref_loads_its_split(tmp_path, make_idx_folder):
    from vae_explorer.core.data import DatasetRef

    ds = DatasetRef.from_key("mnist").load("test")
    assert len(ds) == 10000 and ds.classes[3] == "3"
    folder = make_idx_folder(30, 20)
    custom = DatasetRef.from_key(str(folder)).load("train")
    assert custom.images.shape == (30, 28, 28) and custom.source == folder
    with pytest.raises(DatasetError, match="no such folder"):
        DatasetRef.from_key(str(tmp_path / "absent")).load("test")


def test_the_data_layer_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, vae_explorer.core.data; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""Data faults fed for real: absurd IDX headers, pipes and devices as IDX files, a download
into a file, onto a full disk, and a gzip bomb that must stop at the declared size."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from checkpoint_files import tmpfs

import vae_explorer.core.data.registry as data_mod
from vae_explorer.core.data import (
    SPLIT_FILES,
    DatasetError,
    IDXError,
    download_dataset,
    load_dataset,
    read_idx,
)


def test_a_header_with_65_dimensions_is_an_idx_error(tmp_path):
    path = tmp_path / "deep-idx"
    path.write_bytes(bytes([0, 0, 8, 65]) + np.ones(65, ">u4").tobytes() + b"\x01")
    with pytest.raises(IDXError, match="65 dimensions"):
        read_idx(path)


@pytest.mark.parametrize("ndim", [16, 17, 40, 255])
def test_every_dimension_count_is_read_or_refused_as_idx_error(tmp_path, ndim):
    path = tmp_path / "x-idx"
    path.write_bytes(bytes([0, 0, 8, ndim]) + np.ones(ndim, ">u4").tobytes() + b"\x07")
    try:
        assert read_idx(path).reshape(-1).tolist() == [7]
    except IDXError as exc:
        assert "dimensions" in str(exc)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_pipe_a_device_or_a_folder_in_a_dataset_folder_is_named(tmp_path, make_idx_folder, kind):
    folder = make_idx_folder(20, 10)
    target = folder / f"{SPLIT_FILES['test'][0]}.gz"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
        expected = "named pipe"
    elif kind == "device":
        target.symlink_to("/dev/zero")
        expected = "character device"
    else:
        target.mkdir()
        expected = "a folder"
    with pytest.raises(IDXError, match=f"{target.name}: this is .*{expected}.*not an IDX file"):
        load_dataset("mnist", "test", root=folder)
    with pytest.raises(IDXError, match=expected):
        read_idx(target)


def test_read_idx_of_dev_zero_names_the_device():
    with pytest.raises(IDXError, match="/dev/zero: this is a character device"):
        read_idx("/dev/zero")


def test_a_data_folder_that_is_a_file_is_a_dataset_error(tmp_path, monkeypatch):
    _fake_dataset(monkeypatch, tmp_path)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the download folder should be")
    with pytest.raises(DatasetError, match="cannot use .*cache.* download folder: a file is in the way"):
        download_dataset("fake", blocker, opener=_never_called)
    with pytest.raises(DatasetError, match="download folder"):
        download_dataset("fake", blocker / "fake", opener=_never_called)
    assert blocker.read_text().startswith("a file")


def test_a_download_onto_a_full_disk_is_a_dataset_error_and_leaves_nothing(tmp_path, monkeypatch):
    files = _fake_dataset(monkeypatch, tmp_path, n=400)  # ~300 KB per image file, as gzip too

    def opener(url, timeout):
        stem = url.rsplit("/", 1)[1][:-3]
        return _Response(gzip.compress(files[stem], compresslevel=0))

    with tmpfs(tmp_path / "disk", size_kb=128) as disk:
        with pytest.raises(DatasetError, match="cannot write .*No space left on device"):
            download_dataset("fake", disk / "fake", opener=opener)
        assert [p.name for p in (disk / "fake").iterdir() if p.name.endswith(".part")] == []


def test_a_gzip_bomb_stops_at_the_size_its_idx_header_declares(tmp_path, monkeypatch):
    """A download that inflates far beyond its IDX header is refused after reading only
    the declared size (+1 byte), not after inflating all of it."""
    files = _fake_dataset(monkeypatch, tmp_path)
    megabyte = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    bombs = {stem: gzip.compress(raw) + megabyte * 2000 for stem, raw in files.items()}  # 2 GB each
    assert all(len(b) < 8 << 20 for b in bombs.values())
    inflated = []
    real_read = gzip.GzipFile.read

    def counting_read(self, size=-1):
        data = real_read(self, size)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    with pytest.raises(DatasetError, match="decompresses to more than the .* bytes its IDX header declares"):
        download_dataset("fake", tmp_path / "cache", opener=lambda url, timeout: _Response(bombs[_stem(url)]))
    declared = max(len(raw) for raw in files.values())
    assert sum(inflated) <= declared + (1 << 20) + 16  # not the 2 GB the bomb holds
    assert list((tmp_path / "cache").iterdir()) == []


class _Response(io.BytesIO):
    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def _stem(url: str) -> str:
    return url.rsplit("/", 1)[1][:-3]


def _never_called(url, timeout):
    raise AssertionError("nothing may be fetched when the folder cannot be used")


def _fake_dataset(monkeypatch, tmp_path: Path, n: int = 4) -> dict[str, bytes]:
    """A downloadable dataset "fake" whose four files are served from memory."""
    files = {}
    rng = np.random.default_rng(1)
    for img, lab in SPLIT_FILES.values():
        for stem, arr in (
            (img, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
            (lab, rng.integers(0, 10, n, dtype=np.uint8)),
        ):
            files[stem] = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes() + arr.tobytes()
    info = data_mod.DatasetInfo(
        "fake", "Fake", [str(i) for i in range(10)], [tmp_path / "nowhere"], url="https://example.invalid/",
        sha256={k: hashlib.sha256(v).hexdigest() for k, v in files.items()},
    )  # fmt: skip
    monkeypatch.setitem(data_mod.DATASETS, "fake", info)
    return files

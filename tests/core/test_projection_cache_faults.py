"""A UMAP / t-SNE cache file that is empty (a crash or a full disk left 0 bytes), truncated or
not a map at all is computed again: np.load's EOFError, BadZipFile, ... never escape."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import vae_explorer.core.projection as projection
from vae_explorer.core.projection import _cache_path, _read_cache, neighbour_projection

N = 50


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.zeros((N, 2), np.float32))
    return buffer.getvalue()


GOOD = _npy(np.zeros((N, 2), np.float32))
GARBAGE = {
    "empty": b"",
    "one byte": b"\x93",
    "truncated header": GOOD[:20],
    "truncated data": GOOD[:-8],
    "text": b"not a numpy file at all\n",
    "zip magic": b"PK\x03\x04 truncated zip",
    "npz archive": _npz(),
    "a pickle": b"\x80\x04K\x01.",
    "structured dtype": _npy(np.zeros((N, 2), dtype=[("a", "i4"), ("b", "f4")])),
    "strings": _npy(np.full((N, 2), "x")),
    "wrong shape": _npy(np.zeros((N, 3), np.float32)),
    "not finite": _npy(np.full((N, 2), np.nan, np.float32)),
}


@pytest.mark.parametrize("content", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_damaged_cache_file_reads_as_absent(tmp_path, content):
    path = tmp_path / "tsne.npy"
    path.write_bytes(content)
    assert _read_cache(path, N) is None


def test_a_good_cache_file_is_read(tmp_path):
    path = tmp_path / "tsne.npy"
    path.write_bytes(GOOD)
    cached = _read_cache(path, N)
    assert cached is not None and cached.shape == (N, 2) and cached.dtype == np.float32
    assert _read_cache(tmp_path / "absent.npy", N) is None
    assert _read_cache(tmp_path, N) is None  # a folder


def test_an_empty_cache_file_is_computed_again_and_replaced(monkeypatch):
    z = np.random.default_rng(0).normal(size=(N, 4)).astype(np.float32)
    path = _cache_path(z, "tsne", "modelkey", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    layout = np.random.default_rng(1).normal(size=(N, 2)).astype(np.float32)
    monkeypatch.setattr(projection, "_tsne", lambda z, seed, report: layout)
    proj = neighbour_projection(z, "tsne", model_key="modelkey")
    np.testing.assert_array_equal(proj.embedding, layout)
    np.testing.assert_array_equal(np.load(path), layout)  # the cache is good again


def test_the_zip_archive_of_an_npz_is_closed(tmp_path, monkeypatch):
    """np.load of an .npz holds the file open until closed: a cache never leaks it."""
    closed = []
    real = zipfile.ZipFile.close
    monkeypatch.setattr(zipfile.ZipFile, "close", lambda self: (closed.append(1), real(self))[1])
    path = tmp_path / "tsne.npy"
    path.write_bytes(_npz())
    assert _read_cache(path, N) is None and closed

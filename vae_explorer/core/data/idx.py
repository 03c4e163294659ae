"""IDX files (the MNIST format): strict reading, validation and writing.

Every fault raises :class:`IDXError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..files import NotAFileError, open_regular, show_path


class DatasetError(Exception):
    """A dataset cannot be found, downloaded or used; the message says what to do."""


class IDXError(DatasetError):
    """An IDX file is malformed. ``path`` names the file, ``fault`` what is wrong."""

    def __init__(self, path: str | os.PathLike[str], fault: str) -> None:
        self.path = show_path(path)
        self.fault = fault
        super().__init__(f"{self.path}: {fault}")


# IDX type codes -> big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/ format).
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# The largest body we accept (MNIST's largest file is 47 MB): a small gzip file must not be
# able to make us inflate gigabytes.
_MAX_IDX_BYTES = 256 << 20
# Image data has 3 dimensions, labels 1; numpy itself stops at 64.
MAX_IDX_DIMS = 16


def _native(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The same dtype in this machine's byte order."""
    return dtype.newbyteorder("=")


def open_maybe_gzip(path: Path) -> io.BufferedIOBase:
    """``path`` opened for reading, through gzip when its content is gzip.

    IDXError if it cannot be read or is not a regular file (a folder, a named pipe, a
    device such as /dev/zero), saying which.
    """
    try:
        f = open_regular(path)
    except FileNotFoundError:
        raise IDXError(show_path(path), "file not found") from None
    except NotAFileError as exc:
        raise IDXError(show_path(path), f"this is {exc.kind}, not an IDX file") from None
    except OSError as exc:
        raise IDXError(show_path(path), f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        head = f.read(2)
        f.seek(0)
    except OSError as exc:
        f.close()
        raise IDXError(show_path(path), f"cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        f.close()
        raise IDXError(show_path(path), "file is empty")
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    if path.suffix == ".gz":
        f.close()
        raise IDXError(show_path(path), "not a gzip file (the name ends in .gz but the content does not)")
    return f  # type: ignore[return-value]


def _read_exact(stream: io.BufferedIOBase, n: int, path: Path, what: str) -> bytes:
    try:
        data = stream.read(n)
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        raise IDXError(path, f"corrupt or truncated gzip data while reading {what} ({exc})") from exc
    if len(data) != n:
        raise IDXError(path, f"file is truncated: {what} needs {n} bytes, found {len(data)}")
    return data


def read_idx(
    path: str | os.PathLike[str],
    expect_dtype: np.dtype[Any] | type | None = None,
    expect_tail: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian numpy array, validating it.

    ``expect_dtype`` / ``expect_tail`` (the dimensions after the first) are checked from the
    header, before the body is read, so a wrong file is refused without inflating it.
    """
    path = Path(os.fsdecode(path))
    with open_maybe_gzip(path) as stream:
        file_size = os.fstat(stream.fileno()).st_size
        is_gzip = isinstance(stream, gzip.GzipFile)
        magic = _read_exact(stream, 4, path, "the 4-byte magic number")
        if magic[0] != 0 or magic[1] != 0:
            raise IDXError(path, f"bad magic number {magic.hex()}: an IDX file starts with two zero bytes")
        dtype = _IDX_DTYPES.get(magic[2])
        if dtype is None:
            raise IDXError(path, f"unknown IDX data type code 0x{magic[2]:02x}")
        ndim = magic[3]
        if ndim == 0:
            raise IDXError(path, "IDX header declares 0 dimensions")
        if ndim > MAX_IDX_DIMS:
            raise IDXError(
                path, f"IDX header declares {ndim} dimensions; at most {MAX_IDX_DIMS} are supported"
            )
        shape = tuple(
            int(v) for v in np.frombuffer(_read_exact(stream, 4 * ndim, path, "the dimensions"), ">u4")
        )
        if expect_dtype is not None and _native(dtype) != np.dtype(expect_dtype):
            what = "unsigned bytes" if np.dtype(expect_dtype) == np.uint8 else str(expect_dtype)
            raise IDXError(path, f"data must be {what}, found {_native(dtype)}")
        if expect_tail is not None and shape[1:] != expect_tail:
            want = " x ".join(["N", *map(str, expect_tail)]) if expect_tail else "one-dimensional"
            raise IDXError(path, f"data must be {want}, found shape {shape}")
        count = 1
        for dim in shape:  # Python ints: a hostile header cannot overflow the product
            count *= dim
        nbytes = count * dtype.itemsize
        if not is_gzip and nbytes > file_size - 4 - 4 * ndim:
            raise IDXError(
                path,
                f"file is truncated: the header declares shape {shape} ({nbytes} bytes of data) "
                f"but the file holds {file_size - 4 - 4 * ndim}",
            )
        if nbytes > _MAX_IDX_BYTES:
            raise IDXError(path, f"declared size {shape} ({nbytes} bytes) is implausibly large")
        body = _read_exact(stream, nbytes, path, f"the data of shape {shape}")
        try:
            trailing = stream.read(1)
        except (EOFError, OSError, ValueError, zlib.error) as exc:
            raise IDXError(path, f"corrupt or truncated gzip data after the body ({exc})") from exc
        if trailing:
            raise IDXError(path, f"unexpected data after the {nbytes}-byte body of shape {shape}")
    try:
        return np.frombuffer(body, dtype).reshape(shape).astype(_native(dtype))
    except (ValueError, MemoryError) as exc:
        raise IDXError(path, f"cannot hold data of shape {shape} ({exc})") from None


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool = True) -> None:
    """Write an array as an IDX file (used by tests and to export data)."""
    array = np.asarray(array)
    codes = {_native(v): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(_native(array.dtype))
    if code is None:
        raise ValueError(f"dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(_IDX_DTYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)

"""The checkpoint file format, torch-free: a safetensors file whose metadata says
``format: vae-explorer``, holding the model's weights and, under ``arrays/``, named arrays
that belong with them (the test set's latents, the training history).

Everything a header declares (size, tensor count, names, dtypes, shapes, offsets) is
checked against the file's size before any memory is allocated, and a file is read into
memory, never memory-mapped: a file truncated or rewritten while it is read is an ordinary
CheckpointError, not a SIGBUS that kills the process.

This module needs only numpy, so the window can show a checkpoint's cached latents before
torch is imported (:func:`read_arrays`); :mod:`.checkpoints` builds models on top of it.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .files import NotAFileError, open_regular, show_path

FORMAT_NAME = "vae-explorer"
FORMAT_VERSION = 1
ARRAY_PREFIX = "arrays/"
# A real header is ~16 KB (metadata with a 50-epoch history); 16 MB holds tens of
# thousands of epochs. Parsing is bounded by this before a byte of JSON is decoded.
MAX_HEADER_BYTES = 16 << 20
# A VAE has 10 (MLP) or 16 (conv) tensors, plus a few dozen arrays; a header declaring
# more than this is refused unparsed.
MAX_TENSORS = 1024
# Bounds on a declared shape that numpy can allocate (an empty tensor's size does not
# bound its other dimensions): at most 32 dimensions (numpy 1's limit) and 2**40 elements
# once its zero dimensions are left out.
MAX_DIMS = 32
MAX_ELEMENTS = 1 << 40
ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
    "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}  # fmt: skip
# dtypes an array (not a weight) may have: those numpy reads natively, little-endian.
NUMPY_DTYPES = {
    "BOOL": "?", "U8": "u1", "I8": "i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
    "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8",
}  # fmt: skip


class CheckpointError(Exception):
    """A file is not a usable VAE Explorer checkpoint, or a save failed."""


@dataclass(frozen=True)
class Entry:
    """One tensor of the file: its name, safetensors dtype, shape and byte range."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def is_array(self) -> bool:
        return self.name.startswith(ARRAY_PREFIX)


def as_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> Path:
    """A Path for str, bytes (any bytes: non-UTF-8 names included) or path-like input."""
    return Path(os.fsdecode(path))


def describe_foreign(head: bytes) -> str:
    """What a file that is not safetensors looks like, for the error message."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (e.g. from torch.save); pickles can run code, so they are refused"
    if head[:2] == b"PK":
        return "a zip archive (a torch.save file?); only .safetensors checkpoints are accepted"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file, not a checkpoint"
    return "not a safetensors checkpoint"


def open_checkpoint(path: Path) -> io.BufferedReader:
    """``path`` opened for reading; CheckpointError naming what it is otherwise."""
    shown = show_path(path)
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise CheckpointError(f"{shown}: no such file") from None
    except NotAFileError as exc:
        raise CheckpointError(f"{shown}: this is {exc.kind}, not a checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot open ({exc.strerror or exc})") from None


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The safetensors JSON header of ``path``, validated against the file's size."""
    path = as_path(path)
    with open_checkpoint(path) as f:
        return read_open_header(f, show_path(path))[0]


def read_open_header(f: io.BufferedReader, shown: str) -> tuple[dict[str, Any], int, int]:
    """(header, size of the tensor data, where that data starts) from an open file, validated
    before parsing. All three come from one look at the file's size: a caller that measured
    the size itself, before, would place the data wrongly if the file changed in between."""
    try:
        size = os.fstat(f.fileno()).st_size
        head = f.read(9)
        if len(head) < 9:
            raise CheckpointError(f"{shown}: file is too short to be a checkpoint ({size} bytes)")
        (header_len,) = struct.unpack("<Q", head[:8])
        # A safetensors file is an 8-byte length and a JSON object that fits in the file;
        # anything else is described by its magic bytes (never by guessing from byte 0,
        # which is the low byte of that length and can be anything).
        foreign = describe_foreign(head)
        looks_json = head[8:9] == b"{"
        header_start = looks_json and foreign.startswith("not a")
        if header_start and header_len > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{shown}: the header declares {header_len:,} bytes of metadata; at most "
                f"{MAX_HEADER_BYTES:,} are accepted (not a VAE Explorer checkpoint, or a corrupt one)"
            )
        if header_start and size - 8 < header_len:
            # The start of a safetensors header that the file is too short to hold.
            raise CheckpointError(
                f"{shown}: the file is truncated inside its header ({size} bytes; the header "
                f"alone needs {header_len + 8})"
            )
        if not looks_json or not 2 <= header_len <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{shown}: this file is {foreign}")
        raw = head[8:] + f.read(header_len - 1)
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    if len(raw) != header_len:
        raise CheckpointError(f"{shown}: the file is truncated inside its header (or changed while read)")
    declared = raw.count(b'"data_offsets"')
    if declared > MAX_TENSORS:
        raise CheckpointError(
            f"{shown}: the header declares about {declared:,} tensors; a checkpoint has at most "
            f"{MAX_TENSORS:,} (not a VAE Explorer checkpoint)"
        )
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting/numbers
        raise CheckpointError(f"{shown}: corrupt safetensors header ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{shown}: corrupt safetensors header (not a JSON object)")
    data_len = size - 8 - header_len
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise CheckpointError(
                f"{shown}: corrupt safetensors header: tensor {name!r} is described by "
                f"{_json_kind(info)}, not an object with dtype, shape and data_offsets"
            )
        offsets = info.get("data_offsets")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
            raise CheckpointError(
                f"{shown}: corrupt safetensors header: tensor {name!r} has data_offsets "
                f"{_short(offsets)}, not a list of two whole numbers"
            )
        if not 0 <= offsets[0] <= offsets[1] <= data_len:
            raise CheckpointError(
                f"{shown}: tensor {name!r} lies outside the file: the file is truncated or corrupt"
            )
    return header, data_len, 8 + header_len


def _is_int(value: Any) -> bool:
    """A JSON whole number: an int, but not a bool (True is an int to Python, not to JSON)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words, for an error message."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return kinds.get(type(value), "a number")


def _short(value: Any, limit: int = 60) -> str:
    """repr(value), cut to ``limit`` characters (a corrupt header's values can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def checked_metadata(header: dict[str, Any], shown: str) -> dict[str, Any]:
    """The decoded metadata of a VAE Explorer checkpoint of a format this version reads."""
    raw_meta = header.get("__metadata__")
    if not isinstance(raw_meta, dict) or raw_meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{shown}: a safetensors file, but not a VAE Explorer checkpoint (no "
            f"'format: {FORMAT_NAME}' in its metadata)"
        )
    version_text = raw_meta.get("format_version", "")
    try:
        # Only a string: int() of a JSON number would take 1.5 as 1 and fail on Infinity.
        version = int(version_text) if isinstance(version_text, str) else None
    except ValueError:
        version = None
    if version is None:
        raise CheckpointError(
            f"{shown}: unreadable format_version {_short(version_text)} in the metadata "
            "(a whole number in a string is expected)"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{shown}: written in checkpoint format {version} by a newer VAE Explorer "
            f"({raw_meta.get('app_version', '?')}); this version reads format "
            f"{FORMAT_VERSION}. Update the app to open it."
        )
    return _decode_metadata(shown, raw_meta)


def _decode_metadata(shown: str, raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise CheckpointError(f"{shown}: metadata value {key!r} is not a string")
        if key in ("format", "app_version"):
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except (ValueError, RecursionError):
            if key == "config":
                raise CheckpointError(f"{shown}: the model config in the metadata is not JSON") from None
            out[key] = value  # a plain string written by another tool
    return out


def plan_entries(header: dict[str, Any], data_len: int, shown: str) -> list[Entry]:
    """Every tensor of the file, in file order; each entry's size must match its dtype and
    shape, and the entries must tile the data section exactly."""
    entries = [_entry(name, info, shown) for name, info in header.items() if name != "__metadata__"]
    entries.sort(key=lambda e: (e.start, e.end))
    position = 0
    for entry in entries:
        if entry.start != position:
            raise CheckpointError(
                f"{shown}: corrupt tensor data: {entry.name!r} overlaps another or leaves a gap"
            )
        position = entry.end
    if position != data_len:
        raise CheckpointError(
            f"{shown}: corrupt tensor data: {data_len - position} bytes after the last tensor"
        )
    for entry in entries:
        if entry.is_array and entry.dtype not in NUMPY_DTYPES:
            raise CheckpointError(
                f"{shown}: array {entry.name!r} has dtype {entry.dtype}, which arrays cannot have"
            )
    return entries


def _entry(name: str, info: Any, shown: str) -> Entry:
    """Tensor ``name``'s header entry, every value type-checked before it is used as a key
    or a number (a JSON list where a string belongs is a corrupt file, not a TypeError)."""
    if not isinstance(info, dict):
        raise CheckpointError(f"{shown}: tensor {name!r} is described by {_json_kind(info)}, not an object")
    dtype_name, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype_name, str):
        raise CheckpointError(
            f"{shown}: tensor {name!r} has dtype {_short(dtype_name)} ({_json_kind(dtype_name)}), "
            'not a dtype name such as "F32"'
        )
    if dtype_name not in ITEMSIZE:
        raise CheckpointError(f"{shown}: tensor {name!r} has dtype {_short(dtype_name)}, not a number type")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise CheckpointError(
            f"{shown}: tensor {name!r} has a malformed shape {_short(shape)} (a list of whole numbers >= 0 "
            "is expected)"
        )
    if len(shape) > MAX_DIMS or math.prod(d for d in shape if d) > MAX_ELEMENTS:
        raise CheckpointError(
            f"{shown}: tensor {name!r} has an impossible shape {_short(shape)} (at most {MAX_DIMS} "
            f"dimensions of at most {MAX_ELEMENTS:,} elements in all)"
        )
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        raise CheckpointError(
            f"{shown}: tensor {name!r} has data_offsets {_short(offsets)}, not a list of two whole numbers"
        )
    start, end = offsets
    if end - start != math.prod(shape) * ITEMSIZE[dtype_name]:
        raise CheckpointError(
            f"{shown}: corrupt tensor data: {name!r} declares {end - start} bytes for shape "
            f"{tuple(shape)} of {dtype_name}"
        )
    return Entry(name, dtype_name, tuple(shape), start, end)


def read_into(f: io.BufferedReader, buffer: memoryview, offset: int, name: str, shown: str) -> None:
    """Fill ``buffer`` from the file's byte ``offset`` on (the whole of tensor ``name``)."""
    got = 0
    try:
        f.seek(offset)
        while got < len(buffer):
            n = f.readinto(buffer[got:])
            if not n:
                break
            got += n
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    if got != len(buffer):
        raise CheckpointError(
            f"{shown}: the file ended inside tensor {name!r}: it was truncated while it was read"
        )


def read_array(f: io.BufferedReader, entry: Entry, data_start: int, shown: str) -> np.ndarray:
    """Array ``entry`` (an ``arrays/`` entry) as a native-endian numpy array."""
    dtype = np.dtype(NUMPY_DTYPES[entry.dtype])
    out = np.empty(entry.shape, dtype=dtype)
    read_into(f, memoryview(out.reshape(-1).view(np.uint8).data), data_start + entry.start, entry.name, shown)
    if sys.byteorder == "big" and dtype.itemsize > 1:
        out = out.byteswap().view(dtype.newbyteorder())
    return out


def read_arrays(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], names: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of a checkpoint without reading its weights or importing torch.

    ``names`` selects arrays (without the ``arrays/`` prefix); None reads them all. Used by
    the window to paint a checkpoint's cached latents before the model is built.
    """
    path = as_path(path)
    shown = show_path(path)
    with open_checkpoint(path) as f:
        before = os.fstat(f.fileno())
        header, data_len, data_start = read_open_header(f, shown)
        metadata = checked_metadata(header, shown)
        wanted = None if names is None else {ARRAY_PREFIX + n for n in names}
        arrays = {
            entry.name[len(ARRAY_PREFIX) :]: read_array(f, entry, data_start, shown)
            for entry in plan_entries(header, data_len, shown)
            if entry.is_array and (wanted is None or entry.name in wanted)
        }
        after = os.fstat(f.fileno())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise CheckpointError(f"{shown}: the file changed while it was read; try again")
    return metadata, arrays

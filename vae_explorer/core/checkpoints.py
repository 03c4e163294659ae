"""Safe, atomic checkpoints: safetensors weights plus JSON metadata.

Loading reads only a length-prefixed JSON header and raw tensor bytes, so a checkpoint can
never run code (unlike pickle-based ``torch.save`` files, which are refused up front). The
file is read into memory, never memory-mapped: a file truncated or rewritten while it is
read is an ordinary CheckpointError, not a SIGBUS that kills the process. Everything the
header declares (size, tensor count, names, dtypes, shapes, offsets) is checked against
the file's size and the model config before any tensor memory is allocated.

Saving writes a temporary file beside the target and renames it over the target only when
complete (:func:`.files.atomic_path`), so a failed save leaves the previous file intact;
an existing file keeps its permissions, a read-only one is refused, and a symlink is
written through to its target.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .files import NotAFileError, atomic_path, open_regular, show_path
from .model import VAE, ConfigError, VAEConfig

FORMAT_NAME = "vae-explorer"
FORMAT_VERSION = 1
# A real header is ~16 KB (metadata with a 50-epoch history); 16 MB holds tens of
# thousands of epochs. Parsing is bounded by this before a byte of JSON is decoded.
_MAX_HEADER_BYTES = 16 << 20
# A VAE has 10 (MLP) or 16 (conv) tensors; a header declaring more is refused unparsed.
_MAX_TENSORS = 1024
_FLOAT_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}
_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
    "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}  # fmt: skip


class CheckpointError(Exception):
    """A file is not a usable VAE Explorer checkpoint, or a save failed."""


@dataclass
class Checkpoint:
    model: VAE
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def config(self) -> VAEConfig:
        return self.model.config


def _as_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> Path:
    """A Path for str, bytes (any bytes: non-UTF-8 names included) or path-like input."""
    return Path(os.fsdecode(path))


def save_checkpoint(model: VAE, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and ``metadata`` (JSON-serialisable values) atomically to ``path``."""
    from safetensors.torch import save

    path = _as_path(path)
    meta: dict[str, str] = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "app_version": __version__,
        "config": json.dumps(model.config.to_dict()),
    }
    for key, value in (metadata or {}).items():
        if key in meta:
            continue
        try:
            # Every value is JSON, strings too, so "42" comes back as "42", not 42.
            meta[str(key)] = json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"metadata {key!r} cannot be stored: {exc}") from exc
    try:
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        payload = save(tensors, metadata=meta)
    except MemoryError:
        raise CheckpointError(f"cannot save {show_path(path)}: not enough memory") from None
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(payload)
    except OSError as exc:
        raise CheckpointError(
            f"cannot save {show_path(path)}: {exc.strerror or exc}; any previous file there is unchanged"
        ) from exc
    return path


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in metadata become plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _describe_foreign(head: bytes) -> str:
    """What a file that is not safetensors looks like, for the error message."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (e.g. from torch.save); pickles can run code, so they are refused"
    if head[:2] == b"PK":
        return "a zip archive (a torch.save file?); only .safetensors checkpoints are accepted"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file, not a checkpoint"
    return "not a safetensors checkpoint"


def _open(path: Path) -> io.BufferedReader:
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
    path = _as_path(path)
    with _open(path) as f:
        return _read_header(f, show_path(path))[0]


def _read_header(f: io.BufferedReader, shown: str) -> tuple[dict[str, Any], int]:
    """(header, size of the tensor data) from an open file, validated before parsing."""
    try:
        size = os.fstat(f.fileno()).st_size
        head = f.read(9)
        if len(head) < 9:
            raise CheckpointError(f"{shown}: file is too short to be a checkpoint ({size} bytes)")
        (header_len,) = struct.unpack("<Q", head[:8])
        # A safetensors file is an 8-byte length and a JSON object that fits in the file;
        # anything else is described by its magic bytes (never by guessing from byte 0,
        # which is the low byte of that length and can be anything).
        foreign = _describe_foreign(head)
        looks_json = head[8:9] == b"{"
        header_start = looks_json and foreign.startswith("not a")
        if header_start and header_len > _MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{shown}: the header declares {header_len:,} bytes of metadata; at most "
                f"{_MAX_HEADER_BYTES:,} are accepted (not a VAE Explorer checkpoint, or a corrupt one)"
            )
        if header_start and size - 8 < header_len:
            # The start of a safetensors header that the file is too short to hold.
            raise CheckpointError(
                f"{shown}: the file is truncated inside its header ({size} bytes; the header "
                f"alone needs {header_len + 8})"
            )
        if not looks_json or not 2 <= header_len <= min(_MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{shown}: this file is {foreign}")
        raw = head[8:] + f.read(header_len - 1)
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    if len(raw) != header_len:
        raise CheckpointError(f"{shown}: the file is truncated inside its header (or changed while read)")
    declared = raw.count(b'"data_offsets"')
    if declared > _MAX_TENSORS:
        raise CheckpointError(
            f"{shown}: the header declares about {declared:,} tensors; a VAE has at most "
            f"{_MAX_TENSORS:,} (not a VAE Explorer checkpoint)"
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
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_len
        ):
            raise CheckpointError(
                f"{shown}: tensor {name!r} lies outside the file: the file is truncated or corrupt"
            )
    return header, data_len


@dataclass(frozen=True)
class _Entry:
    name: str
    dtype: torch.dtype
    shape: tuple[int, ...]
    start: int
    end: int


def _plan(
    header: dict[str, Any], expected: dict[str, torch.Tensor], data_len: int, shown: str
) -> list[_Entry]:
    """The tensors to read, in file order: each entry's size must match its dtype and shape,
    the entries must tile the data section exactly, and names, dtypes and shapes must be
    the config's."""
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype_name, shape = info.get("dtype"), info.get("shape")
        if dtype_name not in _ITEMSIZE:
            raise CheckpointError(f"{shown}: tensor {name!r} has dtype {dtype_name!r}, not a float")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise CheckpointError(f"{shown}: tensor {name!r} has a malformed shape {shape!r}")
        start, end = info["data_offsets"]
        if end - start != math.prod(shape) * _ITEMSIZE[dtype_name]:
            raise CheckpointError(
                f"{shown}: corrupt tensor data: {name!r} declares {end - start} bytes for shape "
                f"{tuple(shape)} of {dtype_name}"
            )
        entries.append((start, end, name, dtype_name, tuple(shape)))
    entries.sort()
    position = 0
    for start, end, name, _, _ in entries:
        if start != position:
            raise CheckpointError(f"{shown}: corrupt tensor data: {name!r} overlaps another or leaves a gap")
        position = end
    if position != data_len:
        raise CheckpointError(
            f"{shown}: corrupt tensor data: {data_len - position} bytes after the last tensor"
        )
    names = {name for _, _, name, _, _ in entries}
    missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{shown}: the weights do not match the model config: missing {missing[:4]}, "
            f"unexpected {unexpected[:4]}"
        )
    plan = []
    for start, end, name, dtype_name, shape in entries:
        if dtype_name not in _FLOAT_DTYPES:
            raise CheckpointError(f"{shown}: tensor {name!r} has dtype {dtype_name}, not a float")
        want = tuple(expected[name].shape)
        if shape != want:
            raise CheckpointError(f"{shown}: tensor {name!r} has shape {shape} but the config needs {want}")
        plan.append(_Entry(name, _FLOAT_DTYPES[dtype_name], shape, start, end))
    return plan


def _read_tensors(f: io.BufferedReader, plan: list[_Entry], shown: str) -> dict[str, torch.Tensor]:
    """Each tensor read straight into its own memory (one copy of the weights at most)."""
    tensors = {}
    for entry in plan:
        tensor = torch.empty(entry.shape, dtype=entry.dtype)
        buffer = memoryview(tensor.view(torch.uint8).reshape(-1).numpy().data)
        got = 0
        try:
            while got < len(buffer):
                n = f.readinto(buffer[got:])
                if not n:
                    break
                got += n
        except OSError as exc:
            raise CheckpointError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
        if got != len(buffer):
            raise CheckpointError(
                f"{shown}: the file ended inside tensor {entry.name!r}: it was truncated while it was read"
            )
        if sys.byteorder == "big":  # safetensors is little-endian
            size = tensor.element_size()
            flipped = tensor.view(torch.uint8).reshape(-1, size).flip(1).reshape(-1)
            tensor.view(torch.uint8).reshape(-1).copy_(flipped)
        tensors[entry.name] = tensor
    return tensors


def load_checkpoint(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], map_location: str = "cpu"
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`; CheckpointError on any fault."""
    path = _as_path(path)
    shown = show_path(path)
    size = 0
    try:
        with _open(path) as f:
            before = os.fstat(f.fileno())
            size = before.st_size
            header, data_len = _read_header(f, shown)
            config, metadata = _config_and_metadata(header, shown)
            # Shapes come from a model on the "meta" device: a hostile config (hidden_dim =
            # 10**7) is refused by comparing shapes before any real memory is allocated.
            with torch.device("meta"):
                expected = VAE(config).state_dict()
            plan = _plan(header, expected, data_len, shown)
            raw = _read_tensors(f, plan, shown)
            after = os.fstat(f.fileno())
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            raise CheckpointError(f"{shown}: the file changed while it was read; try again")
        weights = _as_float32(raw, shown)
        # Built on the meta device and given the loaded tensors: no random initialisation
        # of weights that are about to be replaced (seconds for the largest models).
        with torch.device("meta"):
            model = VAE(config)
        model.load_state_dict(weights, assign=True)
        model.to(map_location).eval()
    except MemoryError:
        raise CheckpointError(_no_memory(shown, size)) from None
    except RuntimeError as exc:
        if "alloc" not in str(exc).lower():  # torch's allocator failing, not another error
            raise
        raise CheckpointError(_no_memory(shown, size)) from None
    return Checkpoint(model, metadata, path)


def _no_memory(shown: str, size: int) -> str:
    return (
        f"{shown}: not enough memory to load this checkpoint ({size / 1e6:,.0f} MB; loading "
        "needs about twice that free)"
    )


def _config_and_metadata(header: dict[str, Any], shown: str) -> tuple[VAEConfig, dict[str, Any]]:
    raw_meta = header.get("__metadata__")
    if not isinstance(raw_meta, dict) or raw_meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{shown}: a safetensors file, but not a VAE Explorer checkpoint (no "
            f"'format: {FORMAT_NAME}' in its metadata)"
        )
    try:
        version = int(raw_meta.get("format_version", ""))
    except (TypeError, ValueError):
        raise CheckpointError(f"{shown}: unreadable format_version in the metadata") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{shown}: written in checkpoint format {version} by a newer VAE Explorer "
            f"({raw_meta.get('app_version', '?')}); this version reads format "
            f"{FORMAT_VERSION}. Update the app to open it."
        )
    metadata = _decode_metadata(shown, raw_meta)
    config_data = metadata.get("config")
    if not isinstance(config_data, dict):
        raise CheckpointError(f"{shown}: the metadata has no model config")
    try:
        config = VAEConfig.from_dict(config_data)
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{shown}: invalid model config in the metadata: {exc}") from exc
    return config, metadata


def _as_float32(raw: dict[str, torch.Tensor], shown: str) -> dict[str, torch.Tensor]:
    """The weights in the model's dtype, checked for finiteness AFTER the conversion:
    float64 values beyond float32's range would otherwise load as infinities."""
    out = {}
    for name, tensor in raw.items():
        converted = tensor.to(torch.float32)
        bad = ~torch.isfinite(converted)
        if bool(bad.any()):
            count = int(bad.sum())
            if bool(torch.isfinite(tensor).all()):
                largest = float(tensor.abs().max())
                raise CheckpointError(
                    f"{shown}: tensor {name!r} has {count} value(s) too large for float32 "
                    f"(up to {largest:.3g}; the model computes in float32, whose limit is 3.4e38)"
                )
            raise CheckpointError(f"{shown}: tensor {name!r} contains {count} NaN or infinite value(s)")
        out[name] = converted
    return out


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

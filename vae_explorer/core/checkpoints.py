"""Safe, atomic checkpoints: safetensors weights plus JSON metadata.

Loading reads only a length-prefixed JSON header and raw tensor bytes, so a checkpoint can
never run code (unlike pickle-based ``torch.save`` files, which are refused up front).
Saving writes a temporary file beside the target and renames it over the target only when
complete, so a failed save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .files import atomic_path
from .model import VAE, ConfigError, VAEConfig

FORMAT_NAME = "vae-explorer"
FORMAT_VERSION = 1
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


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


def save_checkpoint(model: VAE, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and ``metadata`` (JSON-serialisable values) atomically to ``path``."""
    from safetensors.torch import save

    path = Path(path)
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
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    payload = save(tensors, metadata=meta)
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(payload)
    except OSError as exc:
        raise CheckpointError(
            f"cannot save {path}: {exc.strerror or exc}; any previous file there is unchanged"
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


def read_header(path: Path) -> dict[str, Any]:
    """The safetensors JSON header of ``path``, validated against the file's size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(9)
            if len(head) < 9:
                raise CheckpointError(f"{path}: file is too short to be a checkpoint ({size} bytes)")
            (header_len,) = struct.unpack("<Q", head[:8])
            # A safetensors file is an 8-byte length and a JSON object that fits in the file;
            # anything else is described by its magic bytes (never by guessing from byte 0,
            # which is the low byte of that length and can be anything).
            foreign = _describe_foreign(head)
            header_start = head[8:9] == b"{" and foreign.startswith("not a")
            if header_start and size - 8 < header_len <= _MAX_HEADER_BYTES:
                # The start of a safetensors header that the file is too short to hold.
                raise CheckpointError(
                    f"{path}: the file is truncated inside its header ({size} bytes; the header "
                    f"alone needs {header_len + 8})"
                )
            if head[8:9] != b"{" or not 2 <= header_len <= min(_MAX_HEADER_BYTES, size - 8):
                raise CheckpointError(f"{path}: this file is {foreign}")
            raw = head[8:] + f.read(header_len - 1)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(raw) != header_len:
        raise CheckpointError(f"{path}: the file is truncated inside its header")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting/numbers
        raise CheckpointError(f"{path}: corrupt safetensors header ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
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
                f"{path}: tensor {name!r} lies outside the file: the file is truncated or corrupt"
            )
    return header


def load_checkpoint(path: str | os.PathLike[str], map_location: str = "cpu") -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`; CheckpointError on any fault."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    header = read_header(path)
    raw_meta = header.get("__metadata__")
    if not isinstance(raw_meta, dict) or raw_meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path}: a safetensors file, but not a VAE Explorer checkpoint (no "
            f"'format: {FORMAT_NAME}' in its metadata)"
        )
    try:
        version = int(raw_meta.get("format_version", ""))
    except ValueError:
        raise CheckpointError(f"{path}: unreadable format_version in the metadata") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written in checkpoint format {version} by a newer VAE Explorer "
            f"({raw_meta.get('app_version', '?')}); this version reads format "
            f"{FORMAT_VERSION}. Update the app to open it."
        )
    metadata = _decode_metadata(path, raw_meta)
    config_data = metadata.get("config")
    if not isinstance(config_data, dict):
        raise CheckpointError(f"{path}: the metadata has no model config")
    try:
        config = VAEConfig.from_dict(config_data)
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{path}: invalid model config in the metadata: {exc}") from exc
    try:
        tensors = load_file(str(path), device=map_location)
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: corrupt tensor data ({exc})") from exc
    # Shapes come from a model on the "meta" device: a hostile config (hidden_dim = 10**7)
    # is refused by comparing shapes before any real memory is allocated for it.
    with torch.device("meta"):
        expected = VAE(config).state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: the weights do not match the config {config.to_dict()}: "
            f"missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    for name, tensor in tensors.items():
        want = expected[name]
        if tensor.dtype not in _FLOAT_DTYPES:
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {tensor.dtype}, not a float")
        if tuple(tensor.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {tuple(tensor.shape)} but the config needs "
                f"{tuple(want.shape)}"
            )
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: tensor {name!r} contains NaN or infinite values")
    model = VAE(config)
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    model.to(map_location).eval()
    return Checkpoint(model, metadata, path)


def _decode_metadata(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise CheckpointError(f"{path}: metadata value {key!r} is not a string")
        if key in ("format", "app_version"):
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except (ValueError, RecursionError):
            if key == "config":
                raise CheckpointError(f"{path}: the model config in the metadata is not JSON") from None
            out[key] = value  # a plain string written by another tool
    return out

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
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .checkpoint_file import (
    ARRAY_PREFIX,
    FORMAT_NAME,
    FORMAT_VERSION,
    CheckpointError,
    Entry,
    as_path,
    checked_metadata,
    open_checkpoint,
    plan_entries,
    read_array,
    read_header,
    read_into,
    read_open_header,
)
from .devices import is_out_of_memory
from .files import atomic_path, show_path
from .labelled.model import KINDS as LABELLED_KINDS
from .labelled.model import LabelledConfig, LabelledModel
from .model import VAE, ConfigError, VAEConfig

# The model a checkpoint holds: config "kind" absent or "vae" = a VAE, "m2" / "m1m2" = a
# labelled model (Kingma et al. 2014).
Model = VAE | LabelledModel
ModelConfig = VAEConfig | LabelledConfig
MODEL_KINDS = ("vae", *LABELLED_KINDS)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "read_header",
    "save_checkpoint",
]

_FLOAT_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, its metadata and the named arrays saved with it
    (e.g. ``test_mu``: the test set's latent means; see :func:`save_checkpoint`)."""

    # VAE or LabelledModel (see ``kind``); typed Any so that code written for VAE files
    # keeps type-checking: callers that need a VAE check ``kind`` or use require_vae().
    model: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def kind(self) -> str:
        """The model's kind: "vae", "m2" or "m1m2"."""
        return model_kind(self.model)

    def require_vae(self, what: str = "this command") -> VAE:
        """The model if it is a VAE; CheckpointError naming the kind otherwise."""
        if not isinstance(self.model, VAE):
            shown = show_path(self.path) if self.path else "the checkpoint"
            raise CheckpointError(
                f"{shown} holds a labelled {self.kind} model; {what} needs a VAE checkpoint"
            )
        return self.model


def model_kind(model: Model) -> str:
    return model.config.kind if isinstance(model, LabelledModel) else "vae"


def save_checkpoint(
    model: Model,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    arrays: Mapping[str, np.ndarray | torch.Tensor] | None = None,
) -> Path:
    """Write ``model``, ``metadata`` (JSON-serialisable values) and ``arrays`` atomically
    to ``path``.

    ``arrays`` are named numeric arrays kept with the weights, stored in their own dtype
    (pass float16 to halve their size) and readable without torch
    (:func:`.checkpoint_file.read_arrays`); names use letters, digits, ``_``, ``.`` and ``/``.
    """
    from safetensors.torch import save

    path = as_path(path)
    meta: dict[str, str] = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "app_version": __version__,
        # to_dict of a labelled config includes its "kind"; a VAE's has none (older files).
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
        for name, value in (arrays or {}).items():
            tensors[ARRAY_PREFIX + name] = _array_tensor(name, value)
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


def _array_tensor(name: str, value: np.ndarray | torch.Tensor) -> torch.Tensor:
    if not name or not all(c.isalnum() or c in "_./-" for c in name):
        raise CheckpointError(
            f"array name {name!r} cannot be stored: use letters, digits, '_', '.', '/', '-'"
        )
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu")
    else:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise CheckpointError(f"array {name!r} cannot be stored: dtype {array.dtype} is not numeric")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.bfloat16:
        raise CheckpointError(
            f"array {name!r} cannot be stored as bfloat16 (numpy cannot read it): use float16"
        )
    return tensor.contiguous()


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in metadata become plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _check_weights(entries: list[Entry], expected: dict[str, torch.Tensor], shown: str) -> list[Entry]:
    """The weight entries, checked against the config: names, float dtypes, shapes."""
    weights = [e for e in entries if not e.is_array]
    names = {e.name for e in weights}
    missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{shown}: the weights do not match the model config: missing {missing[:4]}, "
            f"unexpected {unexpected[:4]}"
        )
    for entry in weights:
        if entry.dtype not in _FLOAT_DTYPES:
            raise CheckpointError(f"{shown}: tensor {entry.name!r} has dtype {entry.dtype}, not a float")
        want = tuple(expected[entry.name].shape)
        if entry.shape != want:
            raise CheckpointError(
                f"{shown}: tensor {entry.name!r} has shape {entry.shape} but the config needs {want}"
            )
    return weights


def _read_weight(f: io.BufferedReader, entry: Entry, data_start: int, shown: str) -> torch.Tensor:
    """One weight read straight into its own memory (one copy of the weights at most)."""
    tensor = torch.empty(entry.shape, dtype=_FLOAT_DTYPES[entry.dtype])
    buffer = memoryview(tensor.view(torch.uint8).reshape(-1).numpy().data)
    read_into(f, buffer, data_start + entry.start, entry.name, shown)
    if sys.byteorder == "big":  # safetensors is little-endian
        size = tensor.element_size()
        flipped = tensor.view(torch.uint8).reshape(-1, size).flip(1).reshape(-1)
        tensor.view(torch.uint8).reshape(-1).copy_(flipped)
    return tensor


def load_checkpoint(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes], map_location: str = "cpu"
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`; CheckpointError on any fault."""
    path = as_path(path)
    shown = show_path(path)
    size = 0
    try:
        with open_checkpoint(path) as f:
            before = os.fstat(f.fileno())
            size = before.st_size
            header, data_len, data_start = read_open_header(f, shown)
            config, metadata = _config_and_metadata(header, shown)
            # Shapes come from a model on the "meta" device: a hostile config (hidden_dim =
            # 10**7) is refused by comparing shapes before any real memory is allocated.
            with torch.device("meta"):
                expected = _build(config).state_dict()
            entries = plan_entries(header, data_len, shown)
            weights = _check_weights(entries, expected, shown)
            raw = {e.name: _read_weight(f, e, data_start, shown) for e in weights}
            arrays = {
                e.name[len(ARRAY_PREFIX) :]: read_array(f, e, data_start, shown)
                for e in entries
                if e.is_array
            }
            after = os.fstat(f.fileno())
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            raise CheckpointError(f"{shown}: the file changed while it was read; try again")
        state = _as_float32(raw, shown)
        # Built on the meta device and given the loaded tensors: no random initialisation
        # of weights that are about to be replaced (seconds for the largest models).
        with torch.device("meta"):
            model = _build(config)
        model.load_state_dict(state, assign=True)
        model.to(map_location).eval()
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise CheckpointError(_no_memory(shown, size)) from None
    return Checkpoint(model, metadata, path, arrays)


def _no_memory(shown: str, size: int) -> str:
    return (
        f"{shown}: not enough memory to load this checkpoint ({size / 1e6:,.0f} MB; loading "
        "needs about twice that free)"
    )


def _build(config: ModelConfig) -> Model:
    return LabelledModel(config) if isinstance(config, LabelledConfig) else VAE(config)


def _config_and_metadata(header: dict[str, Any], shown: str) -> tuple[ModelConfig, dict[str, Any]]:
    metadata = checked_metadata(header, shown)
    config_data = metadata.get("config")
    if not isinstance(config_data, dict):
        raise CheckpointError(f"{shown}: the metadata has no model config")
    kind = config_data.get("kind", "vae")
    if kind not in MODEL_KINDS:
        raise CheckpointError(
            f"{shown}: unknown model kind {kind!r} in the metadata (this version reads "
            f"{', '.join(MODEL_KINDS)}; was it written by a newer VAE Explorer?)"
        )
    try:
        config: ModelConfig = (
            VAEConfig.from_dict(config_data) if kind == "vae" else LabelledConfig.from_dict(config_data)
        )
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

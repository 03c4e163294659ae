"""Helpers that edit checkpoint files on disk, shared by the core and GUI tests."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any


def rewrite_header(path: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``edit`` to a safetensors file's JSON header in place, keeping the tensor bytes."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    body = json.dumps(header).encode()
    body += b" " * ((8 - len(body) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n :])

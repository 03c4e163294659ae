"""Helpers that edit checkpoint files on disk and make file-system faults (a full or a
read-only file system), shared by the core, CLI and GUI tests."""

from __future__ import annotations

import contextlib
import json
import struct
import subprocess
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def tmpfs(folder: Path, size_kb: int = 256) -> Iterator[Path]:
    """A real, small tmpfs mounted on ``folder`` (a full disk or, remounted read-only, a
    read-only file system); skips the test where mounting is not allowed (not root)."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_read_only(folder: Path) -> None:
    """Make a :func:`tmpfs` read-only (files stay readable)."""
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)

"""Where `train` puts its checkpoint: never over a file that is not one of this app's
checkpoints (nor over the --m1 it reads), the last good weights of a failed run beside
--out, and a fallback folder when --out cannot be written."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

LAST_GOOD_SUFFIX = ".last-good"


def kept_from_replacing(args: argparse.Namespace) -> str:
    """Why an existing --out must not be replaced by the run's checkpoint ("" if it may): it
    is the --m1 checkpoint the run reads, or not a VAE Explorer checkpoint at all (a
    dataset's file, notes: a typo in --out must not cost them)."""
    from ..core.files import show_path

    out = Path(args.out)
    if not out.is_file():
        return ""
    shown = show_path(out)
    m1 = getattr(args, "m1", None)
    try:
        if m1 is not None and os.path.samefile(out, m1):
            return f"--out {shown} is the --m1 checkpoint this run reads; choose another --out"
    except OSError:
        pass  # (--m1 unreadable: its own check says so)
    if foreign_file(out):
        return (
            f"--out {shown} exists and is not a VAE Explorer checkpoint; the run would replace "
            "it: choose another name, or remove that file first"
        )
    return ""


def foreign_file(path: Path) -> bool:
    """Whether ``path`` is a file but not a VAE Explorer checkpoint (never to be replaced)."""
    from ..core.checkpoint_file import CheckpointError, checked_metadata, read_header

    if not path.is_file():
        return False
    try:
        checked_metadata(read_header(path), str(path))
    except CheckpointError:
        return True
    return False


def last_good_path(out: Path) -> Path:
    """Where a failed run's last good weights go: NAME.last-good.safetensors beside --out
    (an earlier run's there is replaced; a file that is not a checkpoint never is: then
    NAME.last-good-2.safetensors, -3, ...)."""
    suffix = out.suffix or ".safetensors"
    stem = out.name.removesuffix(out.suffix) + LAST_GOOD_SUFFIX
    path = out.with_name(stem + suffix)
    n = 2
    while foreign_file(path) or path.is_dir():
        path = out.with_name(f"{stem}-{n}{suffix}")
        n += 1
    return path


def fallback_paths(out: Path) -> list[Path]:
    """Where to save when ``out`` cannot be written: the user cache folder, then the
    working directory; the name says when it was saved so nothing is overwritten."""
    from ..core.classifier import cache_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{out.name.removesuffix(out.suffix) or 'model'}-unsaved-{stamp}.safetensors"
    return [cache_dir() / "unsaved-models" / name, Path.cwd() / name]


def save_with_fallback(target: Path, snapshot: Any, metadata: dict[str, Any]) -> tuple[Path | None, str]:
    """(where it was saved or None, what went wrong with ``target`` or "")."""
    from ..core.checkpoints import CheckpointError
    from ..core.training import save_snapshot

    try:
        return save_snapshot(target, snapshot, metadata), ""
    except CheckpointError as exc:
        problem = str(exc)
    for candidate in fallback_paths(target):
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            return save_snapshot(candidate, snapshot, metadata), problem
        except (CheckpointError, OSError):
            continue
    return None, problem

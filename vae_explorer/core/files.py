"""Writing files so that a failure never leaves a truncated file or destroys an old one.

Every file the app writes (checkpoints, exports, figures) goes to a temporary file in the
target's folder, is flushed to disk, and only then renamed over the target; any error
removes the temporary file and leaves whatever was at the target untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which would race with
# other threads creating files.
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers that choose a format by
    suffix still work); renamed to ``path`` when the block ends without error.

    Raises OSError (FileNotFoundError for a missing folder) before anything is written.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(2, "No such folder", str(folder))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:  # an interrupt mid-write must not leave the temporary file either
        tmp.unlink(missing_ok=True)
        raise

"""Reading and writing files so that a fault is an ordinary error, never a crash or a loss.

Writing: every file the app writes (checkpoints, exports, figures, caches) goes to a
temporary file in the target's folder, is flushed to disk, and only then renamed over the
target; any error removes the temporary file and leaves whatever was at the target
untouched. A symlink is written through (its target is replaced, the link stays), an
existing file keeps its permissions, and a read-only file is refused, not replaced.

Reading: :func:`open_regular` opens a file only if it is a regular file with content, so a
folder, a named pipe (which would block), a device (``/dev/zero`` never ends) or an empty
file is named for what it is. Torch-free: core/data uses it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
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


class NotAFileError(OSError):
    """A path names something other than a regular file with content; ``kind`` says what
    ("a folder", "a named pipe (FIFO)", "a character device (such as /dev/zero)", "an empty
    file (0 bytes)", ...)."""

    def __init__(self, kind: str, filename: str) -> None:
        super().__init__(errno.EINVAL, f"Is {kind}, not a regular file", filename)
        self.kind = kind


def show_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as \\xNN escapes and
    characters that cannot be printed (a newline, an escape) with Python's escapes, so a
    message about such a file can be printed and shown in the window, on one line, without
    driving the terminal."""
    return show_text(os.fsencode(path).decode("utf-8", "backslashreplace"))


def _refuse_nul(path: str | os.PathLike[str]) -> None:
    """The OS cannot name a file with a NUL character (Python raises ValueError for it)."""
    if "\x00" in os.fsdecode(path):
        raise OSError(errno.EINVAL, "Not a usable file name (it holds a NUL character)", show_path(path))


def show_text(value: object) -> str:
    """``value`` (a checkpoint's metadata, say) as printable text: a string holding a
    character that cannot be printed (a lone surrogate, a control or escape character)
    is shown with Python's escapes, so printing it never fails or drives the terminal.
    Only such characters are escaped: the rest (quotes, backslashes) reads as it is."""
    text = str(value)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


EMPTY = "an empty file (0 bytes)"


def describe_kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is when it is not a regular file ("a folder", ...);
    None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device (such as /dev/zero)"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something other than a regular file"


def open_regular(path: str | os.PathLike[str]) -> io.BufferedReader:
    """``path`` opened for binary reading if it is a regular file that is not empty.

    Raises FileNotFoundError, NotAFileError (saying what it is) or another OSError. Neither
    the open nor a read blocks: a FIFO is opened non-blocking and refused from its fstat,
    and so is a file of size 0, which every format read here is too short to be. (Kernel
    pseudo-files report size 0, and some block a reader: /proc/kmsg waits for the next
    kernel message.)
    """
    _refuse_nul(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if os.path.islink(path):  # there, but pointing at nothing: say so, not "not found"
            raise NotAFileError(
                f"a link to {show_path(os.readlink(path))}, which does not exist", show_path(path)
            ) from None
        raise
    try:
        found = os.fstat(fd)
        kind = describe_kind(found.st_mode)
        if kind is None and found.st_size == 0:
            kind = EMPTY
        if kind is not None:
            raise NotAFileError(kind, show_path(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def write_target(path: str | os.PathLike[str]) -> Path:
    """Where a write to ``path`` lands: a symlink's final target (so the link survives and
    the file it points to is updated), else ``path`` itself."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise an OSError with a plain reason if ``path`` cannot be written as a file, by
    creating (and removing) a temporary file beside it: a missing folder, a folder given as
    the file, a read-only file, a folder or file system that refuses writes.

    Used before long work (training) so that it does not end with nothing saved.
    """
    target = write_target(path)
    _check_target(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".check", dir=_folder(target))
    os.close(fd)
    os.unlink(name)
    return target


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _check_target(target: Path) -> os.stat_result | None:
    """The target's stat (None if it does not exist yet); OSError if it cannot be replaced."""
    _refuse_nul(target)
    folder = _folder(target)
    try:
        folder_stat = folder.stat()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such folder", show_path(folder)) from None
    if not stat.S_ISDIR(folder_stat.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "Not a folder", show_path(folder))
    try:
        st = target.stat()
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "It is a folder, not a file", show_path(target))
    if stat.S_ISREG(st.st_mode) and not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # Judged by the mode bits, not os.access: root may write anything, but a file
        # someone made read-only is not to be replaced without a word.
        raise PermissionError(errno.EACCES, "The file is read-only", show_path(target))
    kind = describe_kind(st.st_mode)
    if kind is not None:
        raise NotAFileError(kind, show_path(target))
    return st


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers that choose a format by
    suffix still work); renamed to ``path`` when the block ends without error.

    Raises OSError before anything is written when the target cannot be replaced: a
    missing folder (FileNotFoundError), a folder as the target (IsADirectoryError), a
    read-only file (PermissionError), a folder that refuses new files.
    """
    target = write_target(path)
    existing = _check_target(target)
    folder = _folder(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=folder)
    tmp = Path(tmp_name)
    try:  # (from the first statement after mkstemp: an interrupt there must not leave it)
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600): an existing file keeps its own mode, a new
        # one gets the usual mode for new files.
        mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:  # an interrupt mid-write must not leave the temporary file either
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

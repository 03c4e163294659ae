"""Downloading a registered dataset: atomic, size-capped and SHA-256 checked."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

from ..files import show_path
from .idx import _IDX_DTYPES, _MAX_IDX_BYTES, MAX_IDX_DIMS, DatasetError, IDXError, open_maybe_gzip
from .registry import Progress, dataset_info, user_data_dir

# The most a download may deliver per file before it is cut off (the largest is ~26 MB).
_MAX_DOWNLOAD_BYTES = 64 << 20


def download_dataset(
    name: str,
    dest: Path | None = None,
    progress: Progress | None = None,
    opener: Callable[..., io.BufferedIOBase] | None = None,
) -> Path:
    """Download the four files of ``name`` into ``dest`` (default: the user cache).

    Each file is written under a temporary name, its decompressed SHA-256 checked, and only
    then renamed into place, so an interrupted or corrupt transfer never leaves a file where
    a good one is expected. ``progress(file, done_bytes, total_bytes)`` is called as it goes.
    """
    info = dataset_info(name)
    if info.url is None:
        raise DatasetError(f"{info.title} is bundled with the app and is not downloaded")
    dest = Path(dest) if dest is not None else user_data_dir() / name
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot use {show_path(dest)} as the download folder: {_reason(exc)}") from None
    opener = opener or urllib.request.urlopen
    for stem, expected in info.sha256.items():
        target = dest / f"{stem}.gz"
        if target.is_file() and _sha256_of_gzip(target) == expected:
            continue
        url = info.url + f"{stem}.gz"
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=dest)
        except OSError as exc:
            raise DatasetError(f"cannot write into {show_path(dest)}: {_reason(exc)}") from None
        tmp = Path(tmp_name)
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    _fetch(url, out, stem, progress, opener)
                    out.flush()
                    os.fsync(out.fileno())
            except _WriteError as exc:
                raise DatasetError(f"cannot write {show_path(target)}: {_reason(exc.error)}") from None
            except OSError as exc:  # flush/fsync/close: the disk, not the network
                raise DatasetError(f"cannot write {show_path(target)}: {_reason(exc)}") from None
            digest = _sha256_of_gzip(tmp)
            if digest != expected:
                raise DatasetError(
                    f"{url}: checksum mismatch (SHA-256 {digest[:12]}..., expected "
                    f"{expected[:12]}...): the download is corrupt; try again later"
                    if len(digest) == 64
                    else f"{url}: checksum mismatch (the file {digest}): the download is corrupt or "
                    "not the expected file; try again later"
                )
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise DatasetError(f"cannot write {show_path(target)}: {_reason(exc)}") from None
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def _reason(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "a file is in the way where a folder is needed"
    return str(exc.strerror or exc)


class _WriteError(Exception):
    """Writing the downloaded bytes failed (a full disk): not a network fault."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _fetch(
    url: str,
    out: io.BufferedIOBase,
    label: str,
    progress: Progress | None,
    opener: Callable[..., io.BufferedIOBase],
) -> None:
    try:
        with opener(url, timeout=30) as response:
            total = int(getattr(response, "headers", {}).get("Content-Length") or 0)
            done = 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _WriteError(exc) from exc
                done += len(chunk)
                if done > _MAX_DOWNLOAD_BYTES:
                    raise DatasetError(
                        f"{url}: the server sent more than {_MAX_DOWNLOAD_BYTES >> 20} MB; "
                        "stopped (this is not the expected file)"
                    )
                if progress:
                    progress(label, done, total)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"{url}: the server answered HTTP {exc.code} ({exc.reason})") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        # "Name or service not known", not "[Errno -2] Name or service not known".
        reason = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise DatasetError(
            f"could not download {url} ({reason}). Check the network connection, or install "
            "the Debian package dataset-fashion-mnist."
        ) from exc
    if total and done != total:
        raise DatasetError(f"{url}: the transfer stopped after {done} of {total} bytes; try again")


def _sha256_of_gzip(path: Path) -> str:
    """SHA-256 of the decompressed IDX content, or a short reason it is not valid IDX data.

    Reads no further than the IDX header says the data runs (plus one byte): a gzip bomb is
    stopped as soon as it inflates past the declared size, not after gigabytes.
    """
    h = hashlib.sha256()
    try:
        with open_maybe_gzip(path) as stream:
            head = stream.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_DTYPES:
                return "is not an IDX file"
            ndim = head[3]
            if not 1 <= ndim <= MAX_IDX_DIMS:
                return f"has an IDX header with {ndim} dimensions"
            dims = stream.read(4 * ndim)
            if len(dims) != 4 * ndim:
                return "is truncated inside its IDX header"
            remaining = _IDX_DTYPES[head[2]].itemsize
            for i in range(ndim):
                remaining *= int.from_bytes(dims[4 * i : 4 * i + 4], "big")
            if remaining > _MAX_IDX_BYTES:
                return f"declares {remaining:,} bytes of data in its IDX header, implausibly many"
            declared = remaining
            h.update(head + dims)
            while chunk := stream.read(min(1 << 20, remaining + 1)):
                remaining -= len(chunk)
                if remaining < 0:
                    return f"decompresses to more than the {declared:,} bytes its IDX header declares"
                h.update(chunk)
    except (EOFError, OSError, zlib.error, IDXError):
        return "is corrupt"
    if remaining:
        return f"ends {remaining:,} bytes short of what its IDX header declares"
    return h.hexdigest()

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

from .idx import DatasetError, IDXError, open_maybe_gzip
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
    dest.mkdir(parents=True, exist_ok=True)
    opener = opener or urllib.request.urlopen
    for stem, expected in info.sha256.items():
        target = dest / f"{stem}.gz"
        if target.is_file() and _sha256_of_gzip(target) == expected:
            continue
        url = info.url + f"{stem}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=dest)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _fetch(url, out, stem, progress, opener)
                out.flush()
                os.fsync(out.fileno())
            digest = _sha256_of_gzip(tmp)
            if digest != expected:
                raise DatasetError(
                    f"{url}: checksum mismatch (SHA-256 {digest[:12]}..., expected "
                    f"{expected[:12]}...): the download is corrupt; try again later"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return dest


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
                out.write(chunk)
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
        raise DatasetError(
            f"{url}: could not download ({reason}); check the network connection, or install "
            "the Debian package dataset-fashion-mnist"
        ) from exc
    if total and done != total:
        raise DatasetError(f"{url}: the transfer stopped after {done} of {total} bytes; try again")


def _sha256_of_gzip(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open_maybe_gzip(path) as stream:
            while chunk := stream.read(1 << 20):
                h.update(chunk)
    except (EOFError, OSError, zlib.error, IDXError):
        return "corrupt"
    return h.hexdigest()

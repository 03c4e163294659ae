"""IDX files (the MNIST format): strict reading and validation, the dataset registry,
locating a dataset on disk, and an atomic, checksummed download.

Every fault raises :class:`IDXError` or :class:`DatasetError` with a message that names
the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DATASETS = PROJECT_ROOT / "resources" / "datasets"

# IDX type codes -> big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/ format).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# The largest body we accept (MNIST's largest file is 47 MB): a small gzip file must not be
# able to make us inflate gigabytes.
_MAX_IDX_BYTES = 256 << 20
# The most a download may deliver per file before it is cut off (the largest is ~26 MB).
_MAX_DOWNLOAD_BYTES = 64 << 20


class DatasetError(Exception):
    """A dataset cannot be found, downloaded or used; the message says what to do."""


class IDXError(DatasetError):
    """An IDX file is malformed. ``path`` names the file, ``fault`` what is wrong."""

    def __init__(self, path: str | os.PathLike[str], fault: str) -> None:
        self.path = str(path)
        self.fault = fault
        super().__init__(f"{self.path}: {fault}")


# --- reading ------------------------------------------------------------------------------
def _open_maybe_gzip(path: Path) -> io.BufferedIOBase:
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        raise IDXError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".gz":
        raise IDXError(path, "not a gzip file (the name ends in .gz but the content does not)")
    return open(path, "rb")


def _read_exact(stream: io.BufferedIOBase, n: int, path: Path, what: str) -> bytes:
    try:
        data = stream.read(n)
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        raise IDXError(path, f"corrupt or truncated gzip data while reading {what} ({exc})") from exc
    if len(data) != n:
        raise IDXError(path, f"file is truncated: {what} needs {n} bytes, found {len(data)}")
    return data


def read_idx(
    path: str | os.PathLike[str],
    expect_dtype: np.dtype | type | None = None,
    expect_tail: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian numpy array, validating it.

    ``expect_dtype`` / ``expect_tail`` (the dimensions after the first) are checked from the
    header, before the body is read, so a wrong file is refused without inflating it.
    """
    path = Path(path)
    if not path.is_file():
        raise IDXError(path, "file not found")
    if path.stat().st_size == 0:
        raise IDXError(path, "file is empty")
    with _open_maybe_gzip(path) as stream:
        is_gzip = isinstance(stream, gzip.GzipFile)
        magic = _read_exact(stream, 4, path, "the 4-byte magic number")
        if magic[0] != 0 or magic[1] != 0:
            raise IDXError(
                path, f"bad magic number {magic.hex()}: an IDX file starts with two zero bytes"
            )
        dtype = _IDX_DTYPES.get(magic[2])
        if dtype is None:
            raise IDXError(path, f"unknown IDX data type code 0x{magic[2]:02x}")
        ndim = magic[3]
        if ndim == 0:
            raise IDXError(path, "IDX header declares 0 dimensions")
        shape = tuple(
            int(v) for v in np.frombuffer(_read_exact(stream, 4 * ndim, path, "the dimensions"), ">u4")
        )
        if expect_dtype is not None and dtype.newbyteorder("=") != np.dtype(expect_dtype):
            what = "unsigned bytes" if np.dtype(expect_dtype) == np.uint8 else str(expect_dtype)
            raise IDXError(path, f"data must be {what}, found {dtype.newbyteorder('=')}")
        if expect_tail is not None and shape[1:] != expect_tail:
            want = " x ".join(["N", *map(str, expect_tail)]) if expect_tail else "one-dimensional"
            raise IDXError(path, f"data must be {want}, found shape {shape}")
        count = 1
        for dim in shape:  # Python ints: a hostile header cannot overflow the product
            count *= dim
        nbytes = count * dtype.itemsize
        if not is_gzip and nbytes > path.stat().st_size - 4 - 4 * ndim:
            raise IDXError(
                path,
                f"file is truncated: the header declares shape {shape} ({nbytes} bytes of data) "
                f"but the file holds {path.stat().st_size - 4 - 4 * ndim}",
            )
        if nbytes > _MAX_IDX_BYTES:
            raise IDXError(path, f"declared size {shape} ({nbytes} bytes) is implausibly large")
        body = _read_exact(stream, nbytes, path, f"the data of shape {shape}")
        try:
            trailing = stream.read(1)
        except (EOFError, OSError, ValueError, zlib.error) as exc:
            raise IDXError(path, f"corrupt or truncated gzip data after the body ({exc})") from exc
        if trailing:
            raise IDXError(path, f"unexpected data after the {nbytes}-byte body of shape {shape}")
    return np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool = True) -> None:
    """Write an array as an IDX file (used by tests and to export data)."""
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(_IDX_DTYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)


# --- the registry -------------------------------------------------------------------------
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    classes: list[str]
    search_dirs: list[Path]
    url: str | None = None
    # SHA-256 of each decompressed file: the content, not the gzip wrapper, is what counts.
    sha256: dict[str, str] = field(default_factory=dict)


def user_data_dir() -> Path:
    """Where downloaded datasets live (per user, survives reinstalls)."""
    override = os.environ.get("VAE_EXPLORER_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vae-explorer")) / "datasets"


DATASETS = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST digits",
        MNIST_CLASSES,
        [BUNDLED_DATASETS / "mnist"],
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        FASHION_CLASSES,
        [Path("/usr/share/datasets/fashion-mnist")],
        url="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
    ),
}


@dataclass
class Dataset:
    """One split of an image dataset: uint8 images [N, 28, 28], uint8 labels [N]."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    source: Path | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _folder_has_split(folder: Path, split: str) -> bool:
    return all(_find_file(folder, stem) for stem in SPLIT_FILES[split])


def read_split(folder: Path, split: str, classes: list[str], name: str = "custom") -> Dataset:
    """Read and cross-validate the images and labels of one split in ``folder``."""
    if split not in SPLIT_FILES:
        raise DatasetError(f"unknown split {split!r}; use 'train' or 'test'")
    image_stem, label_stem = SPLIT_FILES[split]
    paths = []
    for stem in (image_stem, label_stem):
        p = _find_file(folder, stem)
        if p is None:
            raise DatasetError(f"{folder}: missing {stem} (or {stem}.gz) for the {split} split")
        paths.append(p)
    image_path, label_path = paths
    images = read_idx(image_path, np.uint8, (IMAGE_SIDE, IMAGE_SIDE))
    labels = read_idx(label_path, np.uint8, ())
    if labels.shape[0] != images.shape[0]:
        raise IDXError(
            label_path,
            f"{labels.shape[0]} labels but {image_path.name} has {images.shape[0]} images",
        )
    if labels.size and int(labels.max()) >= len(classes):
        raise IDXError(
            label_path, f"label {int(labels.max())} out of range for {len(classes)} classes"
        )
    return Dataset(name, split, images, labels, list(classes), folder)


def locate_dataset(name: str, split: str = "train") -> Path | None:
    """The first folder holding ``name``'s files for ``split``: bundled/system, then cache."""
    info = _info(name)
    for folder in [*info.search_dirs, user_data_dir() / name]:
        if _folder_has_split(folder, split):
            return folder
    return None


def _info(name: str) -> DatasetInfo:
    info = DATASETS.get(name)
    if info is None:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return info


def load_dataset(
    name: str = "mnist",
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Dataset:
    """Load one split of a dataset.

    ``root``: a folder of the four standard IDX files (used instead of the usual places);
    ``download``: fetch a missing downloadable dataset into the user cache folder.
    """
    if split not in SPLIT_FILES:
        raise DatasetError(f"unknown split {split!r}; use 'train' or 'test'")
    if root is not None:
        folder = Path(root)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder")
        classes = DATASETS[name].classes if name in DATASETS else MNIST_CLASSES
        return read_split(folder, split, classes, name)
    info = _info(name)
    folder = locate_dataset(name, split)
    if folder is None:
        if not download or info.url is None:
            hint = (
                "install the Debian package dataset-fashion-mnist, or download it from the app"
                " (Dataset menu) or with --download"
                if info.url
                else "the bundled copy is missing from resources/datasets; reinstall the app"
            )
            raise DatasetError(f"{info.title} ({split}) was not found: {hint}")
        folder = download_dataset(name, progress=progress)
    return read_split(folder, split, info.classes, name)


# --- downloading --------------------------------------------------------------------------
def download_dataset(
    name: str,
    dest: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    opener: Callable[..., io.BufferedIOBase] | None = None,
) -> Path:
    """Download the four files of ``name`` into ``dest`` (default: the user cache).

    Each file is written under a temporary name, its decompressed SHA-256 checked, and only
    then renamed into place, so an interrupted or corrupt transfer never leaves a file where
    a good one is expected. ``progress(file, done_bytes, total_bytes)`` is called as it goes.
    """
    info = _info(name)
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
    progress: Callable[[str, int, int], None] | None,
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
        with _open_maybe_gzip(path) as stream:
            while chunk := stream.read(1 << 20):
                h.update(chunk)
    except (EOFError, OSError, zlib.error, IDXError):
        return "corrupt"
    return h.hexdigest()

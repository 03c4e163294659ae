"""The dataset registry: named datasets, where they live on disk, and loading one split.

A :class:`DatasetRef` names what the user picked: one of the registered datasets, or a
folder of the four IDX files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import show_path
from ..image import IMAGE_SIDE
from .idx import DatasetError, IDXError, read_idx

PROJECT_ROOT = Path(__file__).resolve().parents[3]
BUNDLED_DATASETS = PROJECT_ROOT / "resources" / "datasets"
CUSTOM_DATASET = "custom"  # what checkpoints record for a folder of IDX files
# The key of the images given to ``explore()``: shown, but never a dataset on disk (no
# folder of that name is ever read, and it cannot be trained on).
OWN_IMAGES = "your images"
OWN_IMAGES_ERROR = (
    "the images given to explore() are not a dataset the app can load or train on: "
    "training needs a dataset, choose one in the Dataset menu"
)

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

Progress = Callable[[str, int, int], None]


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


def os_reason(exc: OSError | ValueError) -> str:
    """Why a path cannot be used, in lower case: "permission denied", "file name too long"."""
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def cannot_open(folder: Path, exc: OSError | ValueError) -> DatasetError:
    """The DatasetError for a folder that cannot even be looked into (EACCES, ENAMETOOLONG,
    EIO, a NUL byte in its name...), naming it and the reason."""
    return DatasetError(f"{show_path(folder)}: cannot open the folder ({os_reason(exc)})")


def is_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder that can be looked at now; False for anything else,
    including a path whose check raises: pathlib only answers False for ENOENT, ENOTDIR,
    EBADF and ELOOP, and raises for EACCES, ENAMETOOLONG, EIO, ESTALE or a NUL byte."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def usable_dataset_key(key: object) -> bool:
    """Whether ``key`` (a remembered or recorded dataset key) can be shown: a registered
    dataset, or a folder that exists and can be looked into now (its files may still be
    missing or damaged: loading it says so). The key of the images given to explore() and
    any text whose check fails (EACCES, ENAMETOOLONG, EIO...) are not."""
    if not isinstance(key, str) or not key or key == OWN_IMAGES:
        return False
    if key in DATASETS:
        return True
    if not is_folder(key):
        return False
    try:
        find_file(Path(key), SPLIT_FILES["test"][0])
    except DatasetError:
        return False
    return True


def find_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem.gz`` or ``folder/stem``, whichever exists first.

    Anything by that name counts (a pipe, a device, a folder): reading it then says what
    it is, instead of calling a file that is there "missing". DatasetError naming the
    folder and the reason when it cannot be looked into (permission denied, ...).
    """
    for candidate in (folder / f"{stem}.gz", folder / stem):
        try:
            # exists() raises for EACCES, ENAMETOOLONG, EIO, ESTALE...; a looping or dangling
            # link is there too (reading it then says so), where exists() says "missing".
            if candidate.exists() or candidate.is_symlink():
                return candidate
        except (OSError, ValueError) as exc:
            raise cannot_open(folder, exc) from None
    return None


def _folder_has_split(folder: Path, split: str) -> bool:
    return all(find_file(folder, stem) for stem in SPLIT_FILES[split])


def read_split(folder: Path, split: str, classes: list[str], name: str = CUSTOM_DATASET) -> Dataset:
    """Read and cross-validate the images and labels of one split in ``folder``."""
    if split not in SPLIT_FILES:
        raise DatasetError(f"unknown split {split!r}; use 'train' or 'test'")
    paths = []
    for stem in SPLIT_FILES[split]:
        p = find_file(folder, stem)
        if p is None:
            raise DatasetError(f"{folder}: missing {stem} (or {stem}.gz) for the {split} split")
        paths.append(p)
    image_path, label_path = paths
    images = read_idx(image_path, np.uint8, (IMAGE_SIDE, IMAGE_SIDE))
    labels = read_idx(label_path, np.uint8, ())
    if labels.shape[0] != images.shape[0]:
        raise IDXError(
            label_path, f"{labels.shape[0]} labels but {image_path.name} has {images.shape[0]} images"
        )
    if labels.size and int(labels.max()) >= len(classes):
        raise IDXError(label_path, f"label {int(labels.max())} out of range for {len(classes)} classes")
    return Dataset(name, split, images, labels, list(classes), folder)


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; DatasetError naming the known ones otherwise."""
    info = DATASETS.get(name)
    if info is None:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return info


def locate_dataset(name: str, split: str = "train") -> Path | None:
    """The first folder holding ``name``'s files for ``split``: bundled/system, then cache.

    A folder that cannot be looked into (permission denied, ...) is passed over: the next
    place may still hold the files."""
    return _locate(name, split, [])


def _locate(name: str, split: str, problems: list[str]) -> Path | None:
    """:func:`locate_dataset`, adding to ``problems`` why a place could not be looked into."""
    info = dataset_info(name)

    def has_split(folder: Path) -> bool:
        try:
            return _folder_has_split(folder, split)
        except DatasetError as exc:
            problems.append(str(exc))
            return False

    for folder in info.search_dirs:
        if has_split(folder):
            return folder
    # Only now the per-user folder: finding it imports platformdirs, which a bundled or
    # system-wide dataset never needs.
    cached = user_data_dir() / name
    return cached if has_split(cached) else None


def load_dataset(
    name: str = "mnist",
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    progress: Progress | None = None,
) -> Dataset:
    """Load one split of a dataset.

    ``root``: a folder of the four standard IDX files (used instead of the usual places);
    ``download``: fetch a missing downloadable dataset into the user cache folder.
    """
    if split not in SPLIT_FILES:
        raise DatasetError(f"unknown split {split!r}; use 'train' or 'test'")
    if root is not None:
        if not os.fspath(root):  # Path("") is ".": an empty name must not read the CWD
            raise DatasetError("no folder given: name a folder holding the four IDX files")
        folder = Path(os.fsdecode(root))
        try:
            if not folder.is_dir():
                what = "not a folder" if folder.exists() else "no such folder"
                raise DatasetError(f"{show_path(folder)}: {what}")
        except (OSError, ValueError) as exc:
            raise cannot_open(folder, exc) from None
        classes = DATASETS[name].classes if name in DATASETS else MNIST_CLASSES
        return read_split(folder, split, classes, name)
    if name == OWN_IMAGES:
        raise DatasetError(OWN_IMAGES_ERROR)
    info = dataset_info(name)
    problems: list[str] = []
    found = _locate(name, split, problems)
    if found is None:
        if not download or info.url is None:
            hint = (
                "install the Debian package dataset-fashion-mnist, or download it (in the app:"
                " Dataset menu; on the command line: --download)"
                if info.url
                else "the bundled copy is missing from resources/datasets; reinstall the app"
            )
            unreadable = "".join(f" ({p})" for p in problems)
            raise DatasetError(f"{info.title} ({split}) was not found{unreadable}: {hint}")
        from .download import download_dataset

        found = download_dataset(name, progress=progress)
    return read_split(found, split, info.classes, name)


@dataclass(frozen=True)
class DatasetRef:
    """What the user picked: a registered dataset, or a folder of the four IDX files.

    ``name`` is a registry name; for a folder it only chooses the class names (MNIST's
    digits by default). ``root`` is the folder, or None for the registered places.
    """

    name: str = "mnist"
    root: Path | None = None

    @classmethod
    def from_key(cls, key: str | os.PathLike[str]) -> DatasetRef:
        """ "mnist" / "fashion-mnist", the images given to explore() (:data:`OWN_IMAGES`,
        which loading refuses with what to do), or any other text as the path of a folder."""
        text = os.fspath(key)
        if text in DATASETS or text == OWN_IMAGES:
            return cls(text)
        if not text:
            raise DatasetError("no dataset given: name one of " + ", ".join(DATASETS) + " or a folder")
        return cls("mnist", Path(text))

    @property
    def key(self) -> str:
        """The inverse of :meth:`from_key`: the name, or the folder's path."""
        return str(self.root) if self.root is not None else self.name

    @property
    def title(self) -> str:
        """What the user reads: "MNIST digits", or "Folder: <folder name>"."""
        if self.root is not None:
            return f"Folder: {self.root.name}"
        if self.name == OWN_IMAGES:
            return "Your images"
        info = DATASETS.get(self.name)
        return info.title if info is not None else self.name

    @property
    def metadata_name(self) -> str:
        """What a checkpoint records as its dataset: the name, or "custom" for a folder."""
        return self.name if self.root is None and self.name in DATASETS else CUSTOM_DATASET

    def missing_files(self, split: str = "train") -> str | None:
        """Why ``split`` of a folder cannot be loaded, known without reading it: the files it
        lacks, or the folder itself gone (None when all are there, and for a registered
        dataset, which loading finds or downloads). Cheap: a few ``stat`` calls."""
        if self.root is None:
            return None
        if not is_folder(self.root):
            return f"{show_path(self.root)}: no such folder"
        try:
            missing = [stem for stem in SPLIT_FILES[split] if find_file(self.root, stem) is None]
        except DatasetError as exc:
            return str(exc)
        if not missing:
            return None
        what = "training" if split == "train" else "test"
        names = " and ".join(f"{stem} (or {stem}.gz)" for stem in missing)
        return f"{show_path(self.root)} has no {what} split: missing {names}"

    def load(self, split: str = "train", download: bool = False, progress: Progress | None = None) -> Dataset:
        """One split; DatasetError (with what to do) if it is missing or malformed."""
        return load_dataset(self.name, split, root=self.root, download=download, progress=progress)


def cannot_train_on(key: str) -> str | None:
    """Why a run on dataset ``key`` would fail before its first batch, found without reading
    the data (the images given to explore(), a folder without its training files); None
    when nothing is known against it. Asked before a run asks to drop an unsaved model."""
    if key == OWN_IMAGES:
        return OWN_IMAGES_ERROR
    try:
        return DatasetRef.from_key(key).missing_files("train")
    except DatasetError as exc:
        return str(exc)

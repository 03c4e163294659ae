"""Datasets: IDX files (:mod:`.idx`), the registry and loading (:mod:`.registry`), and
downloads (:mod:`.download`). Torch-free, so opening a dataset stays quick.

Every fault raises :class:`IDXError` or :class:`DatasetError` with a message that names
the file and what is wrong with it.
"""

from ..image import IMAGE_SIDE
from .download import download_dataset
from .idx import DatasetError, IDXError, read_idx, write_idx
from .registry import (
    BUNDLED_DATASETS,
    CUSTOM_DATASET,
    DATASETS,
    FASHION_CLASSES,
    MNIST_CLASSES,
    OWN_IMAGES,
    PROJECT_ROOT,
    SPLIT_FILES,
    Dataset,
    DatasetInfo,
    DatasetRef,
    cannot_train_on,
    dataset_info,
    load_dataset,
    locate_dataset,
    read_split,
    usable_dataset_key,
    user_data_dir,
)

__all__ = [
    "BUNDLED_DATASETS",
    "CUSTOM_DATASET",
    "DATASETS",
    "FASHION_CLASSES",
    "IMAGE_SIDE",
    "MNIST_CLASSES",
    "OWN_IMAGES",
    "PROJECT_ROOT",
    "SPLIT_FILES",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "DatasetRef",
    "cannot_train_on",
    "IDXError",
    "dataset_info",
    "download_dataset",
    "load_dataset",
    "locate_dataset",
    "read_idx",
    "read_split",
    "usable_dataset_key",
    "user_data_dir",
    "write_idx",
]

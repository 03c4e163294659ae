"""Dataset folders that cannot even be looked into (EACCES, ENAMETOOLONG, EIO, a NUL byte),
an empty folder name and the images given to explore(): always a DatasetError naming the
folder and the reason, never a raw OSError (which the CLI turned into exit 1 and the
window into an uncaught exception)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from vae_explorer.core.data import DatasetError, DatasetRef, load_dataset, locate_dataset, registry

OWN_IMAGES = "your images"  # explore()'s key (core.data.OWN_IMAGES)


def usable_dataset_key(key):
    from vae_explorer.core.data import usable_dataset_key

    return usable_dataset_key(key)


LONG_NAME = "d" * 5000  # beyond NAME_MAX and PATH_MAX: the kernel says ENAMETOOLONG


@pytest.fixture
def locked(monkeypatch, tmp_path):
    """lock(folder, error): every stat of ``folder`` or a path inside it raises ``error``
    (as for a folder under another user's mode-700 folder; root would not see EACCES)."""

    def lock(folder: Path, code: int = errno.EACCES, inside_only: bool = False) -> None:
        real_stat = Path.stat

        def stat(self, *args, **kwargs):
            if folder in self.parents or (self == folder and not inside_only):
                raise OSError(code, os.strerror(code), str(self))
            return real_stat(self, *args, **kwargs)

        monkeypatch.setattr(Path, "stat", stat)

    return lock


def test_a_folder_under_a_locked_one_is_a_dataset_error_naming_it(make_idx_folder, locked):
    folder = make_idx_folder(20, 10)
    locked(folder)
    with pytest.raises(DatasetError, match="permission denied") as info:
        load_dataset("mnist", "test", root=folder)
    assert str(folder) in str(info.value) and "cannot open the folder" in str(info.value)
    with pytest.raises(DatasetError, match="permission denied"):
        DatasetRef.from_key(str(folder)).load("train")
    assert not usable_dataset_key(str(folder))


def test_a_folder_that_cannot_be_looked_into_is_a_dataset_error(make_idx_folder, locked):
    """The folder itself is there (mode 000, an NFS handle gone stale): its files are not."""
    folder = make_idx_folder(20, 10)
    locked(folder, errno.ESTALE, inside_only=True)
    assert folder.is_dir()
    with pytest.raises(DatasetError, match=r"cannot open the folder \(stale") as info:
        load_dataset("mnist", "test", root=folder)
    assert str(folder) in str(info.value)
    assert not usable_dataset_key(str(folder))


@pytest.mark.parametrize("code", [errno.EIO, errno.EACCES])
def test_find_file_never_raises_an_os_error(make_idx_folder, locked, code):
    folder = make_idx_folder(20, 10)
    locked(folder, code, inside_only=True)
    with pytest.raises(DatasetError, match=str(folder)):
        registry.find_file(folder, "t10k-images-idx3-ubyte")


@pytest.mark.parametrize("link", ["loop", "dangling"])
def test_a_broken_link_in_a_data_folder_is_named_not_called_missing(make_idx_folder, link):
    folder = make_idx_folder(20, 10)
    (real,) = folder.glob("t10k-images-idx3-ubyte*")  # (written compressed or not)
    real.unlink()
    real.symlink_to(real.name if link == "loop" else "/nonexistent/images")
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", "test", root=folder)
    assert "missing" not in str(info.value)
    assert (
        "symbolic links" if link == "loop" else "a link to /nonexistent/images, which does not exist"
    ) in str(info.value)


def test_a_folder_name_too_long_or_with_a_nul_byte_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="file name too long"):
        load_dataset("mnist", "test", root=tmp_path / LONG_NAME)
    with pytest.raises(DatasetError, match="no such folder|cannot open the folder"):
        load_dataset("mnist", "test", root=str(tmp_path) + "/a\0b")
    assert not usable_dataset_key(str(tmp_path / LONG_NAME))
    assert not usable_dataset_key("/a\0b")


def test_an_empty_folder_name_is_refused_not_read_as_the_current_folder(make_idx_folder, monkeypatch):
    monkeypatch.chdir(make_idx_folder(20, 10))  # "" used to read "." : this folder
    with pytest.raises(DatasetError, match="no folder given"):
        load_dataset("mnist", "test", root="")


def test_an_unreadable_place_is_passed_over_and_named_when_nothing_is_found(locked, monkeypatch):
    info = registry.DATASETS["mnist"]
    locked(info.search_dirs[0])
    assert locate_dataset("mnist", "test") is None  # the cache folder may still hold it
    with pytest.raises(DatasetError, match="permission denied") as caught:
        load_dataset("mnist", "test")
    assert "was not found" in str(caught.value)


def test_usable_dataset_keys(make_idx_folder):
    assert usable_dataset_key("mnist") and usable_dataset_key(str(make_idx_folder(20, 10)))
    for key in (OWN_IMAGES, "", None, 3, "/no/such/folder"):
        assert not usable_dataset_key(key)


def test_the_images_given_to_explore_are_never_read_as_a_folder(make_idx_folder, monkeypatch):
    """A folder named like explore()'s images in the current folder is not used: training
    on them is refused with what to do instead."""
    assert registry.OWN_IMAGES == OWN_IMAGES
    folder = make_idx_folder(20, 10)
    shutil.move(str(folder), str(folder.parent / OWN_IMAGES))
    monkeypatch.chdir(folder.parent)
    ref = DatasetRef.from_key(OWN_IMAGES)
    assert ref.root is None and ref.key == OWN_IMAGES and ref.title == "Your images"
    for split in ("train", "test"):
        with pytest.raises(DatasetError, match="training needs a dataset, choose one in the Dataset menu"):
            ref.load(split)


def test_a_training_job_on_the_images_given_to_explore_is_refused():
    from vae_explorer.core.model import VAEConfig
    from vae_explorer.core.training import TrainConfig
    from vae_explorer.core.training.job import TrainingJob, run_job

    job = TrainingJob(VAEConfig(latent_dim=2, hidden_dim=8), TrainConfig(epochs=1), dataset=OWN_IMAGES)
    with pytest.raises(DatasetError, match="training needs a dataset"):
        next(run_job(job))

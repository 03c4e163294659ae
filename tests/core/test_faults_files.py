"""File-writing faults fed for real: a full disk (a small tmpfs, or an injected ENOSPC), a
read-only file system, read-only files, symlinks, and the pre-flight check of an output."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from checkpoint_files import remount_read_only, tmpfs

from vae_explorer.core import classifier as clf_mod
from vae_explorer.core.files import NotAFileError, atomic_path, check_writable, open_regular, show_path


def test_atomic_path_keeps_mode_writes_through_links_and_refuses_read_only(tmp_path):
    target = tmp_path / "data" / "export.csv"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    with atomic_path(link) as tmp:
        assert tmp.parent == target.parent  # the temporary file sits beside the real target
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"), atomic_path(target):
        raise AssertionError("the block must not run")
    assert target.read_text() == "new"


def test_an_interrupt_right_after_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C as mkstemp returns (here: as its descriptor is closed) removes the file."""
    real_close = os.close

    def interrupted(fd: int) -> None:
        real_close(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "close", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "m.safetensors"):
        pass
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["missing-folder", "folder", "folder-as-parent", "device"])
def test_check_writable_names_each_reason_before_any_work(tmp_path, case):
    if case == "missing-folder":
        path, error, reason = tmp_path / "no" / "m.safetensors", FileNotFoundError, "No such folder"
    elif case == "folder":
        path, error, reason = tmp_path, IsADirectoryError, "folder, not a file"
    elif case == "folder-as-parent":
        (tmp_path / "f").write_text("x")
        path, error, reason = tmp_path / "f" / "m.safetensors", NotADirectoryError, "Not a folder"
    else:
        path, error, reason = Path("/dev/null"), NotAFileError, "character device"
    with pytest.raises(error, match=reason):
        check_writable(path)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["f"])


def test_check_writable_on_a_read_only_file_system(tmp_path):
    with tmpfs(tmp_path / "ro") as disk:
        assert check_writable(disk / "m.safetensors") == disk / "m.safetensors"
        remount_read_only(disk)
        with pytest.raises(OSError) as info:
            check_writable(disk / "m.safetensors")
        assert info.value.errno == errno.EROFS


def test_open_regular_never_blocks_on_a_pipe(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(NotAFileError, match="named pipe"):
        open_regular(pipe)  # a plain open() would wait here for a writer, forever
    regular = tmp_path / "f"
    regular.write_bytes(b"ab")
    with open_regular(regular) as f:
        assert f.read() == b"ab"


def test_open_regular_refuses_an_empty_file(tmp_path):
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(NotAFileError, match=r"an empty file \(0 bytes\)"):
        open_regular(empty)


@pytest.mark.skipif(not os.access("/proc/kmsg", os.R_OK), reason="needs a readable /proc/kmsg")
def test_a_kernel_pseudo_file_that_blocks_readers_is_refused_at_once():
    # /proc/kmsg reports size 0 and a read waits for the next kernel message: choosing it
    # in File > Open left the loading thread waiting forever, with no word to the user.
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            with open_regular("/proc/kmsg") as f:
                f.read(9)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(5)
    assert outcome and isinstance(outcome[0], NotAFileError) and outcome[0].kind == "an empty file (0 bytes)"


def test_show_path_makes_any_name_printable():
    name = os.fsdecode(b"/tmp/caf\xe9.csv")
    assert show_path(name) == "/tmp/caf\\xe9.csv"
    assert show_path(b"/tmp/x\xff") == "/tmp/x\\xff"
    # A newline or an escape in a name: on one line, and the terminal's colours left alone.
    assert show_path("/tmp/esc\x1b[31mred\nname.safetensors") == "/tmp/esc\\x1b[31mred\\nname.safetensors"
    assert show_path("/tmp/naïve ✓.csv") == "/tmp/naïve ✓.csv"


def test_show_text_escapes_only_what_cannot_be_printed_as_show_path_does():
    from vae_explorer.core.files import show_text

    # Quotes and backslashes beside a newline read as they are (repr would double or escape them).
    assert show_text('it\'s \\ "x"\n') == 'it\'s \\ "x"\\n'
    assert show_text("lone \ud800 surrogate") == "lone \\ud800 surrogate"
    assert show_text(12.5) == "12.5"
    assert show_text("a\\b\x1b") == show_path("a\\b\x1b") == "a\\b\\x1b"


def test_a_name_with_a_nul_character_is_an_os_error_that_names_it(tmp_path):
    """(Python raises ValueError for it, which the messages for bad files did not catch.)"""
    from vae_explorer.core.checkpoint_file import CheckpointError
    from vae_explorer.core.checkpoints import load_checkpoint

    bad = str(tmp_path / "x\x00y.safetensors")
    with pytest.raises(OSError, match="NUL character"):
        open_regular(bad)
    with pytest.raises(OSError, match="NUL character"):
        check_writable(bad)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def _fast_classifier(monkeypatch):
    """Skip the real training (seconds): the cache, not the classifier, is under test."""
    monkeypatch.setattr(clf_mod, "train_classifier", lambda images, labels, config: clf_mod.DigitClassifier())


def test_classifier_cache_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    _fast_classifier(monkeypatch)
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8)
    with tmpfs(tmp_path / "cache", size_kb=64) as disk:  # the cache file is ~800 KB
        monkeypatch.setenv(clf_mod.CACHE_ENV, str(disk))
        net = clf_mod.load_or_train_classifier("mnist", images, labels)
        assert net.predict(images).shape == (10,)
        assert list(disk.iterdir()) == []


def test_classifier_cache_with_an_injected_enospc_leaves_no_temporary_file(tmp_path, monkeypatch):
    _fast_classifier(monkeypatch)
    monkeypatch.setenv(clf_mod.CACHE_ENV, str(tmp_path))
    real_write = Path.write_bytes

    def half_then_full(self, data):
        real_write(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8)
    clf_mod.load_or_train_classifier("mnist", images, labels)
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_classifier_cache_is_retrained_not_fatal(tmp_path, monkeypatch):
    _fast_classifier(monkeypatch)
    monkeypatch.setenv(clf_mod.CACHE_ENV, str(tmp_path))
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8)
    clf_mod.load_or_train_classifier("mnist", images, labels)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(cached.read_bytes()[:1000])
    clf_mod.load_or_train_classifier("mnist", images, labels)
    assert cached.stat().st_size > 1000  # rewritten whole

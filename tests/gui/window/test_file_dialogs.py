"""The window's file dialogs name file kinds without reading the files: Qt's default reads
a file with no extension to guess its kind, which blocks forever on a FIFO or /proc/kmsg
(selecting one froze the window)."""

from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import QFileInfo
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QTreeView

from vae_explorer.gui.window import file_dialogs
from vae_explorer.gui.window.file_dialogs import NameOnlyKinds


def _kind_within(info: QFileInfo, seconds: float = 5.0) -> str | None:
    """NameOnlyKinds().type(info), or None if it did not return in time (a read blocked)."""
    found: list[str] = []
    worker = threading.Thread(target=lambda: found.append(NameOnlyKinds().type(info)), daemon=True)
    worker.start()
    worker.join(seconds)
    return found[0] if found else None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_named_without_being_read(qapp, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for reading waits for a writer that never comes
    assert _kind_within(QFileInfo(str(fifo))) == "File"


@pytest.mark.skipif(not os.access("/proc/kmsg", os.R_OK), reason="needs a readable /proc/kmsg")
def test_proc_kmsg_is_named_without_being_read(qapp):
    # The file that froze the window: Qt's own guess reads it and waits for kernel messages.
    assert _kind_within(QFileInfo("/proc/kmsg")) == "File"


def test_kinds_come_from_the_name(qapp, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "digits.png").write_bytes(b"not really a png")
    # Qt's default reads this one and calls it "PDF document".
    (tmp_path / "notes").write_text("%PDF-1.4 what a content sniffer would call a PDF")
    assert _kind_within(QFileInfo(str(tmp_path / "sub"))) == "Folder"
    assert _kind_within(QFileInfo(str(tmp_path / "digits.png"))) == "PNG image"
    assert _kind_within(QFileInfo(str(tmp_path / "notes"))) == "File"
    assert _kind_within(QFileInfo(str(tmp_path / "mine.safetensors"))) == "Model"


@pytest.mark.parametrize(
    ("ask", "args", "accept_mode", "file_mode"),
    [
        (file_dialogs.open_file_name, ("Open model", "Models (*.safetensors)"),
         QFileDialog.AcceptMode.AcceptOpen, QFileDialog.FileMode.ExistingFile),
        (file_dialogs.save_file_name, ("Save model", "Models (*.safetensors)"),
         QFileDialog.AcceptMode.AcceptSave, QFileDialog.FileMode.AnyFile),
        (file_dialogs.existing_folder, ("Folder",), QFileDialog.AcceptMode.AcceptOpen,
         QFileDialog.FileMode.Directory),
    ],
)  # fmt: skip
def test_every_dialog_names_kinds_by_name(qapp, tmp_path, monkeypatch, ask, args, accept_mode, file_mode):
    shown: list[QFileDialog] = []
    chosen = str(tmp_path / "chosen")

    def exec_(dialog: QFileDialog) -> int:
        shown.append(dialog)
        dialog.selectFile(chosen)
        return 1

    monkeypatch.setattr(QFileDialog, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "selectedFiles", lambda dialog: [chosen])
    title, *filters = args
    assert ask(None, title, str(tmp_path), *filters) == chosen
    (dialog,) = shown
    assert isinstance(dialog.iconProvider(), NameOnlyKinds)
    assert dialog.windowTitle() == title
    assert dialog.acceptMode() == accept_mode and dialog.fileMode() == file_mode
    if filters:
        assert dialog.nameFilters() == filters


def test_a_cancelled_dialog_returns_nothing(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "exec", lambda dialog: 0)
    assert file_dialogs.save_file_name(None, "Save", str(tmp_path / "a.png"), "PNG image (*.png)") == ""


def test_icons_come_from_the_name(qapp, tmp_path, monkeypatch):
    # Qt's own icon for a file looks its MIME type up by content where the desktop has an
    # icon theme; NameOnlyKinds may ask its base only for the generic icons.
    asked: list[object] = []
    base_icon = QFileIconProvider.icon
    monkeypatch.setattr(
        QFileIconProvider, "icon", lambda self, which: asked.append(which) or base_icon(self, which)
    )
    kinds = NameOnlyKinds()
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes").write_text("%PDF-1.4")
    for name in ("sub", "notes", "digits.png"):
        assert not kinds.icon(QFileInfo(str(tmp_path / name))).isNull()
    assert asked and not any(isinstance(which, QFileInfo) for which in asked)


def test_sizes_are_shown_whole_once_the_folder_is_listed(qapp, qtbot, tmp_path, monkeypatch):
    for name in ("a.safetensors", "bigger-model.safetensors"):
        with open(tmp_path / name, "wb") as f:
            f.truncate(12_640_000 + len(name))  # "12.05 MiB": wider than Qt's first guess
    widths: list[tuple[int, int]] = []

    def exec_(dialog: QFileDialog) -> int:
        details = dialog.findChild(QTreeView, "treeView")
        qtbot.waitUntil(lambda: details.model().rowCount(details.rootIndex()) == 2, timeout=5000)
        qtbot.wait(200)  # (the listing's end is signalled after its rows)
        widths.append((details.columnWidth(1), details.sizeHintForColumn(1)))
        return 0

    monkeypatch.setattr(QFileDialog, "exec", exec_)
    file_dialogs.open_file_name(None, "Open model", str(tmp_path), "Models (*.safetensors)")
    ((shown, needed),) = widths
    assert shown >= needed

"""The window's file dialogs: QFileDialog's static functions, with file kinds named from
the file's name alone.

Qt's own dialog (used where the desktop offers no native one) names each file's kind by
its MIME type, and a name that says nothing (no extension) makes Qt read the file's
content to guess it. Reading /proc/kmsg, a FIFO or a device waits forever, so selecting
one froze the whole window; so did its icon, where the desktop has an icon theme.
:class:`NameOnlyKinds` asks only the name. Each function takes the static function's
arguments and returns the chosen path, "" when cancelled.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QFileInfo, QMimeDatabase, QMimeType
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QFileSystemModel, QTreeView, QWidget

# The kinds this app's own files are, where the MIME database has no name for them.
OWN_KINDS = {".safetensors": "Model"}


class NameOnlyKinds(QFileIconProvider):
    """Each file's kind ("Type" column) and icon from its name's extension; never opens it."""

    def __init__(self) -> None:
        super().__init__()
        self._mimes = QMimeDatabase()

    def _mime(self, info: QFileInfo) -> QMimeType:
        return self._mimes.mimeTypeForFile(info.fileName(), QMimeDatabase.MatchMode.MatchExtension)

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return "Folder"
        own = OWN_KINDS.get("." + info.suffix().lower())
        if own is not None:
            return own
        mime = self._mime(info)
        return "File" if mime.isDefault() else mime.comment()

    def icon(self, which: QFileInfo | QFileIconProvider.IconType) -> QIcon:  # type: ignore[override]
        if not isinstance(which, QFileInfo):
            return super().icon(which)
        if which.isDir():
            return super().icon(QFileIconProvider.IconType.Folder)
        mime = self._mime(which)
        if not mime.isDefault():
            for name in (mime.iconName(), mime.genericIconName()):
                themed = QIcon.fromTheme(name)
                if not themed.isNull():
                    return themed
        return super().icon(QFileIconProvider.IconType.File)


@functools.cache
def _kinds() -> NameOnlyKinds:
    """One for the process: a dialog keeps a pointer to its provider, not ownership."""
    return NameOnlyKinds()


def _run(dialog: QFileDialog) -> str:
    dialog.setIconProvider(_kinds())
    # Qt's own dialog: its sizes shown whole ("12.3 MiB", not "12....MiB"), measured once
    # per folder listed (measuring as each row arrives stalled a 1,200-file folder 180 ms).
    details, listing = dialog.findChild(QTreeView, "treeView"), dialog.findChild(QFileSystemModel)
    if details is not None and listing is not None:
        listing.directoryLoaded.connect(lambda _folder: details.resizeColumnToContents(1))
    try:
        chosen = dialog.selectedFiles() if dialog.exec() else []
        return chosen[0] if chosen else ""
    finally:
        dialog.deleteLater()


def open_file_name(parent: QWidget | None, title: str, start: str, filters: str) -> str:
    dialog = QFileDialog(parent, title, start, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return _run(dialog)


def save_file_name(parent: QWidget | None, title: str, start: str, filters: str) -> str:
    """``start`` may name a file: the dialog opens in its folder with the name filled in."""
    dialog = QFileDialog(parent, title, start, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    return _run(dialog)


def existing_folder(parent: QWidget | None, title: str, start: str) -> str:
    dialog = QFileDialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return _run(dialog)

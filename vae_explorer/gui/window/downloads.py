"""Downloading a dataset in the background, with a progress dialog and Cancel.

The work is core's ``download_dataset`` (atomic, checksummed) run by the one worker helper;
its progress callback runs on the worker thread and reaches the dialog as a queued signal.
Cancelling (``Worker.cancel``) raises from inside that callback, so core's clean-up removes
the partial file.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from ...core.data import DATASETS, download_dataset
from ..workers import Worker

CANCELLED = "download cancelled"


class DatasetDownloader(QObject):
    """One download at a time: ``start(name)``; then ``finished(name, folder)`` or ``failed``."""

    progress = Signal(str, int, int)  # file, bytes done, bytes total (0 = unknown)
    finished = Signal(str, str)
    failed = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._worker: Worker | None = None
        self._cancel_requested = False
        self._dialog: QProgressDialog | None = None

    def is_running(self) -> bool:
        return self._worker is not None

    @property
    def dialog(self) -> QProgressDialog | None:
        return self._dialog

    def start(self, name: str) -> None:
        if self.is_running():
            return
        info = DATASETS[name]
        self._cancel_requested = False

        dialog = QProgressDialog(f"Downloading {info.title}…", "Cancel", 0, 0, self._parent)
        dialog.setWindowTitle("Download")
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.show()
        self._dialog = dialog

        def report(label: str, done: int, total: int) -> None:  # on the worker thread
            worker.report((label, done, total))

        worker = Worker(download_dataset, name, progress=report, name="dataset-download")
        worker.progress.connect(self._on_worker_progress)
        worker.returned.connect(lambda folder: self._on_worker_returned(name, folder))
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        worker.start()

    def cancel(self, wait_ms: int = 0) -> None:
        if self._worker is not None:
            self._cancel_requested = True
            self._worker.cancel(CANCELLED)
            if wait_ms:
                self._worker.wait(wait_ms)

    def _on_worker_progress(self, item: tuple[str, int, int]) -> None:
        label, done, total = item
        self.progress.emit(label, done, total)
        dialog = self._dialog
        if dialog is None:
            return
        dialog.setLabelText(f"{label}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else label)
        dialog.setMaximum(max(total, 1) if total else 0)
        dialog.setValue(min(done, total) if total else 0)

    def _on_worker_returned(self, name: str, folder: object) -> None:
        self._close_dialog()
        self.finished.emit(name, str(folder))

    def _on_worker_failed(self, message: str) -> None:
        self._close_dialog()
        # Cancelled while blocked in a read: the error it then ended with is not news.
        self.failed.emit(CANCELLED if self._cancel_requested else message)

    def _on_worker_finished(self) -> None:
        self._worker = None

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.canceled.disconnect(self.cancel)  # closing it is not a Cancel
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None

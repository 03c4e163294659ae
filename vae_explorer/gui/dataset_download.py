"""Downloading a dataset (Fashion-MNIST) in a worker thread with progress and cancel.

The work is core's ``download_dataset`` (atomic, checksummed); this module only runs it
off the GUI thread and turns its progress callback into signals. Cancelling raises from
inside the callback, so core's clean-up removes the partial file.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal

from ..core.data import download_dataset


class DownloadCancelled(Exception):
    """Raised inside the progress callback when the user cancels."""


class _DownloadWorker(QObject):
    progress = Signal(str, int, int)
    finished = Signal(str)
    failed = Signal(str)

    def __init__(self, name: str, cancelled: threading.Event) -> None:
        super().__init__()
        self.name = name
        self.cancelled = cancelled

    def run(self) -> None:
        try:
            folder = download_dataset(self.name, progress=self._on_progress)
        except DownloadCancelled:
            self.failed.emit("download cancelled")
        except Exception as exc:  # noqa: BLE001 - every error must reach the window
            self.failed.emit(str(exc))
        else:
            self.finished.emit(str(folder))

    def _on_progress(self, label: str, done: int, total: int) -> None:
        if self.cancelled.is_set():
            raise DownloadCancelled
        self.progress.emit(label, done, total)


class DatasetDownloader(QObject):
    """One download at a time: ``start(name)``; ``finished(name, folder)`` or ``failed``."""

    progress = Signal(str, int, int)  # file, bytes done, bytes total (0 = unknown)
    finished = Signal(str, str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _DownloadWorker | None = None
        self._cancelled = threading.Event()
        self._name = ""

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, name: str) -> None:
        if self.is_running():
            raise RuntimeError("a download is already running")
        self._cancelled = threading.Event()
        self._name = name
        thread = QThread()
        thread.setObjectName("dataset-download")
        worker = _DownloadWorker(name, self._cancelled)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.finished.connect(self._on_worker_finished)
        worker.failed.connect(self._on_worker_failed)
        self._thread, self._worker = thread, worker
        thread.start()

    def cancel(self, wait_ms: int = 0) -> None:
        """Stop at the next chunk; with ``wait_ms`` block until the thread has ended."""
        self._cancelled.set()
        if wait_ms and self._thread is not None:
            self._thread.quit()
            self._thread.wait(wait_ms)

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread = self._worker = None

    def _on_worker_finished(self, folder: str) -> None:
        self._finish()
        self.finished.emit(self._name, folder)

    def _on_worker_failed(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)

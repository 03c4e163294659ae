"""The one way the GUI runs work in the background.

A job is a plain core function or generator (training, imputation, downloads...): a
``Worker`` runs it on its own thread and re-emits, on the GUI thread, what it yields
(``yielded``), what it returns (``returned``), or the error it raised (``failed``, a message
for the user); ``finished`` always comes last. A ``LatestOnlyRunner`` keeps one worker busy
with the NEWEST request and drops the ones overtaken while it was busy (live imputation).

Stopping is cooperative (a thread cannot be interrupted safely): training through core's
``TrainingControl`` (its last snapshot must still arrive), any other job through
``Worker.cancel``, which takes effect at the job's next ``report`` or ``yield``.
``wait_for_workers`` at shutdown waits for every running worker; one that does not end in
time is left to finish on its own (the interpreter waits for it at exit, so a job that
writes a file is never cut off).

The threads are Python threads, not QThreads: a QThread whose wrapper the garbage collector
reaches while it runs is destroyed, which aborts the whole process (seen once in a test run
as "Fatal Python error: Aborted" during a collection). A Python thread has no such owner;
what it emits reaches the GUI thread through a queued connection, as from any thread.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal

from ..core.checkpoint_file import CheckpointError
from ..core.data import DatasetError
from ..core.devices import DeviceError, is_out_of_memory
from ..core.model import ConfigError, InputError
from ..core.projection import ProjectionError


class JobCancelled(Exception):
    """Raised inside a job by ``Worker.report`` once the worker was cancelled."""


# Errors that are the user's input (a file, a folder, a setting), or a cancelled job: a
# message, no traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    JobCancelled,
    DatasetError,
    DeviceError,
    ConfigError,
    InputError,
    CheckpointError,
    ProjectionError,
    OSError,
)

_running: set[Worker] = set()


def error_message(exc: BaseException) -> str:
    """The text the user sees for ``exc``."""
    if isinstance(exc, USER_ERRORS):
        return str(exc) or type(exc).__name__
    if is_out_of_memory(exc):
        return "out of memory"
    return f"{type(exc).__name__}: {exc}"


class Worker(QObject):
    """Runs ``fn(*args, **kwargs)`` once on a new thread; iterates it if it is a generator.

    Every public signal is emitted on the GUI thread (the thread side only posts to a
    queued relay), so any receiver, a lambda included, runs there and never races the job.
    ``report(item)`` (callable from the job's thread) arrives as ``progress(item)``.
    """

    yielded = Signal(object)
    progress = Signal(object)
    returned = Signal(object)
    failed = Signal(str)
    finished = Signal()
    _relay = Signal(str, object)

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "worker",
        setup: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._setup = setup
        # Not a daemon: the interpreter finishes a running job (a file being written) at exit.
        self._thread = threading.Thread(target=self._run_in_thread, name=name, daemon=False)
        self._cancelled = threading.Event()
        self._cancel_reason = "cancelled"
        self._relay.connect(self._on_relay, Qt.ConnectionType.QueuedConnection)

    def start(self) -> Worker:
        if self._thread.ident is not None:
            return self  # started before: a job runs once
        _running.add(self)
        self._thread.start()
        return self

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, ms: int) -> bool:
        """Block until the thread ends (True) or ``ms`` pass (False). When it ended, what
        it posted (its last results, ``finished``) is delivered before this returns."""
        return self._wait(time.monotonic() + ms / 1000)

    def _wait(self, deadline: float) -> bool:
        if self._thread.ident is None:
            return True  # never started: nothing to wait for
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._thread.is_alive():
            return False
        QCoreApplication.sendPostedEvents(self)
        return True

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the job to stop: its next ``report`` raises JobCancelled(reason), and a
        generator job is closed at its next ``yield`` (its clean-up runs); ``failed`` then
        carries ``reason`` and what it yielded last is dropped. A job that does neither runs
        to its end. Not for training: its TrainingControl stops it with a final snapshot."""
        self._cancel_reason = reason
        self._cancelled.set()

    def report(self, item: Any) -> None:
        """Send ``item`` to the GUI thread as ``progress`` (call from the job)."""
        self._raise_if_cancelled()
        self._relay.emit("progress", item)

    def _raise_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled(self._cancel_reason)

    def _run_in_thread(self) -> None:
        try:
            if self._setup is not None:
                self._setup()
            result = self._fn(*self._args, **self._kwargs)
            if inspect.isgenerator(result):
                with contextlib.closing(result):  # a cancel closes it: its finally blocks run
                    for item in result:
                        self._raise_if_cancelled()
                        self._relay.emit("yielded", item)
                result = None
            self._relay.emit("returned", result)
        except BaseException as exc:  # noqa: BLE001 - every error must reach the window
            if not isinstance(exc, USER_ERRORS):
                traceback.print_exc()
            self._relay.emit("failed", error_message(exc))
        finally:
            self._relay.emit("ended", None)

    def _on_relay(self, kind: str, payload: Any) -> None:
        if kind == "ended":
            self._on_thread_ended()
        else:
            getattr(self, kind).emit(payload)

    def _on_thread_ended(self) -> None:
        self._thread.join()  # "ended" is the thread's last act: this returns at once
        self.finished.emit()
        # The last reference may be this set's: drop it once Qt has finished delivering this
        # event, not inside it (the Worker's C++ object dies with its last reference).
        QTimer.singleShot(0, lambda: _running.discard(self))


def wait_for_workers(ms: int) -> bool:
    """Wait (at most ``ms`` in all) for every running worker; True if all ended."""
    deadline = time.monotonic() + ms / 1000
    ok = True
    for worker in list(_running):
        if not worker._wait(deadline):
            ok = False  # left to finish on its own
    return ok


def running_workers() -> int:
    return sum(1 for w in _running if w.is_running())


class LatestOnlyRunner(QObject):
    """Runs ``fn(request)`` for at most one request at a time; a request made while busy
    waits in ONE pending slot that newer requests overwrite, so however fast they come the
    worker computes the latest one next and never builds a backlog."""

    returned = Signal(object)  # fn's result for a request
    failed = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, fn: Callable[[Any], Any], name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._name = name
        self._worker: Worker | None = None
        self._pending: Any = None
        self._has_pending = False
        self._closed = False

    def is_busy(self) -> bool:
        return self._worker is not None

    def submit(self, request: Any) -> None:
        if self._closed:
            return
        if self._worker is not None:
            self._pending, self._has_pending = request, True
            return
        self._start(request)
        self.busyChanged.emit(True)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Drop the pending request and wait for the running one."""
        self._closed = True
        self._pending, self._has_pending = None, False
        if self._worker is not None:
            self._worker.wait(wait_ms)

    def _start(self, request: Any) -> None:
        worker = Worker(self._fn, request, name=self._name)
        worker.returned.connect(self.returned)
        worker.failed.connect(self.failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    def _on_finished(self) -> None:
        self._worker = None
        if self._has_pending and not self._closed:
            request, self._pending, self._has_pending = self._pending, None, False
            self._start(request)
        else:
            self.busyChanged.emit(False)

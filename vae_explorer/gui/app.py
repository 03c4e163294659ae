"""Entry point of the desktop app: ``vae-explorer`` / ``vae-explorer gui [CKPT]``.

Start-up order: the desktop check (first_run.py: no display or missing xcb libraries get a
message and an exit status, not Qt's abort), then the window, painted from the checkpoint's
cache before torch is imported (window/startup.py). Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .first_run import check_desktop

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from .window import MainWindow

CLOSE_WAIT_MS = 5000
GC_INTERVAL_S = 0.5
_gui_thread_gc: Any = None  # pyqtgraph's GarbageCollector, once the app runs
_signal_sockets: list[Any] = []  # end_on_signals' wake-up sockets and notifier, kept alive
CHECKED_ENV = "VAE_EXPLORER_DESKTOP_CHECKED"  # set by scripts/run-app.sh, which checked already


def install_exception_hook(app: QApplication) -> None:
    """Report an exception that escapes a Qt callback in the window and keep running.

    Unhandled, PySide turns some of them into an abort of the whole process, which would
    lose an unsaved model; a bug in one view must cost at most that one action.
    """

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        traceback.print_exception(kind, exc, tb)
        if issubclass(kind, KeyboardInterrupt):
            app.quit()
            return
        from .window import MainWindow
        from .workers import USER_ERRORS, error_message

        if isinstance(exc, USER_ERRORS):  # bad input met in a view (a user's own model's NaN)
            title, text = "Error", error_message(exc)
        else:  # (error_message names torch's allocator failures "out of memory" too)
            title, text = "Unexpected error", f"{error_message(exc)} (the details are on the console)"
        for widget in top_level_widgets(app):
            if isinstance(widget, MainWindow):
                widget.show_error(title, text)

    sys.excepthook = hook


def top_level_widgets(app: QApplication) -> list[QWidget]:
    """``app.topLevelWidgets()``, safe from the garbage collector: while PySide wraps the
    list's widgets one by one, a collection can delete a widget that only unreachable Python
    objects held, and wrapping that one then crashes the process. No collection during the
    call, then."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return list(app.topLevelWidgets())
    finally:
        if enabled:
            gc.enable()


def end_on_signals(app: QApplication, window: MainWindow) -> None:
    """SIGTERM (a logout, ``kill``), SIGHUP (the terminal closed) and SIGINT (Ctrl-C) end
    the app as closing it would, minus the question nobody is there to answer: the window
    keeps an unsaved model's recovery copy first (window/recovery.py).

    Python runs a signal handler only when the interpreter next gets control, which Qt's
    event loop does not give it; the signal's byte on a wake-up socket does."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def drain() -> None:
        with contextlib.suppress(OSError):
            reader.recv(256)

    notifier.activated.connect(drain)

    handled = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name)]

    def handle(signum: int, frame: object) -> None:
        # Once: a second signal (a shutdown that hangs) ends the process the usual way.
        for each in handled:
            signal.signal(each, signal.SIG_DFL)
        QTimer.singleShot(0, window.end_for_signal)

    for each in handled:
        signal.signal(each, handle)
    _signal_sockets.extend([reader, writer, notifier])


def collect_garbage_on_gui_thread() -> bool:
    """Automatic garbage collection off; a timer on the GUI thread collects instead
    (pyqtgraph's GarbageCollector). A collection runs in whichever thread happens to
    allocate: in a worker it would destroy the Qt objects of unreachable views there,
    off the GUI thread, which can crash or deadlock the process. True if this call turned
    it on."""
    global _gui_thread_gc
    from pyqtgraph.util.garbage_collector import GarbageCollector

    if _gui_thread_gc is not None:
        return False  # (already: the caller did not turn it on)
    _gui_thread_gc = GarbageCollector(interval=GC_INTERVAL_S)
    return True


def restore_automatic_garbage_collection() -> None:
    """Undo :func:`collect_garbage_on_gui_thread` (explore()'s last window has closed: the
    caller's session collects as it did before, with or without an event loop)."""
    global _gui_thread_gc
    import gc

    if _gui_thread_gc is not None:
        _gui_thread_gc.timer.stop()
        _gui_thread_gc = None
        gc.enable()


def run_app(checkpoint_path: str | None = None) -> int:
    """Create the application and main window, open ``checkpoint_path`` (or the shipped
    model) and run the event loop; returns the exit code (2, with a message on stderr, when
    this machine cannot show a window: see first_run.py)."""
    if os.environ.get(CHECKED_ENV) != "1":
        problem = check_desktop()
        if problem is not None:
            print(problem.message, file=sys.stderr, flush=True)
            return problem.exit_code
    from PySide6.QtWidgets import QApplication

    from .theme import APPLICATION, ORGANIZATION, apply_dark_theme, configure_pyqtgraph

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)
    configure_pyqtgraph()
    install_exception_hook(app)
    collect_garbage_on_gui_thread()
    from .window import MainWindow

    # Whatever ends the event loop (the last window closed, a signal, app.quit()), running
    # workers get time to end and deliver; the interpreter waits for any still running.
    window = MainWindow(checkpoint_path, background=True)
    app.aboutToQuit.connect(lambda: _wait_for_workers(window))
    end_on_signals(app, window)
    window.show()
    # torch, numpy and Qt leave ~10^6 long-lived objects; a full garbage collection walking
    # them froze the window for 300-600 ms while background jobs ran. Freezing them once the
    # views (and torch) are loaded keeps later collections to what the session creates.
    if window.views_ready:
        gc.freeze()
    else:
        window.viewsReady.connect(gc.freeze)
    return int(app.exec())


def _wait_for_workers(window: MainWindow) -> None:
    from .workers import wait_for_workers

    # Closing the window waited already; a quit that did not close it (a signal, app.quit())
    # waits here. With 0 what ended meanwhile is still delivered.
    wait_for_workers(0 if window.workers_waited else CLOSE_WAIT_MS)


if __name__ == "__main__":  # python -m vae_explorer.gui.app [CKPT]
    raise SystemExit(run_app(sys.argv[1] if len(sys.argv) > 1 else None))

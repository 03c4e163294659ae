"""Entry point of the desktop app: ``vae-explorer`` / ``vae-explorer gui [CKPT]``."""

from __future__ import annotations

import gc
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication

from .theme import APPLICATION, ORGANIZATION, apply_dark_theme, configure_pyqtgraph

CLOSE_WAIT_MS = 5000


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

        text = "out of memory" if isinstance(exc, MemoryError) else f"{kind.__name__}: {exc}"
        for widget in app.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.show_error("Unexpected error", f"{text} (the details are on the console)")

    sys.excepthook = hook


def run_app(checkpoint_path: str | None = None) -> int:
    """Create the application and main window, open ``checkpoint_path`` (or the shipped
    model) and run the event loop; returns the exit code."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)
    configure_pyqtgraph()
    install_exception_hook(app)
    from .window import MainWindow
    from .workers import wait_for_workers

    # Whatever ends the event loop (the last window closed, a signal, app.quit()), no worker
    # thread is destroyed while it runs.
    app.aboutToQuit.connect(lambda: wait_for_workers(CLOSE_WAIT_MS))
    window = MainWindow(checkpoint_path)
    window.show()
    # torch, numpy and Qt leave ~10^6 long-lived objects; a full garbage collection walking
    # them froze the window for 300-600 ms while background jobs ran. Freezing them keeps
    # later collections to what the session itself creates.
    gc.freeze()
    return int(app.exec())

"""Entry point of the desktop app: ``vae-explorer`` / ``vae-explorer gui [CKPT]``."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .theme import APPLICATION, ORGANIZATION, apply_dark_theme, configure_pyqtgraph


def run_app(checkpoint_path: str | None = None) -> int:
    """Create the application and main window, open ``checkpoint_path`` (or the shipped
    model) and run the event loop; returns the exit code."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)
    configure_pyqtgraph()
    from .window import MainWindow

    window = MainWindow(checkpoint_path)
    window.show()
    return int(app.exec())

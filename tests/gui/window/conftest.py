"""Window tests never block on a dialog."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox
from window_helpers import STATIC_DIALOGS


@pytest.fixture(autouse=True)
def _no_blocking_dialogs(monkeypatch) -> None:
    """QMessageBox's static helpers would block: record their text and answer Ok."""
    STATIC_DIALOGS.clear()

    def record(*args, **kwargs):
        STATIC_DIALOGS.append(" ".join(str(a) for a in args[1:]))
        return QMessageBox.StandardButton.Ok

    for name in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, record)

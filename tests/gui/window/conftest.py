"""Window tests never block on a dialog; a small recorded run to open."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox
from window_helpers import STATIC_DIALOGS, recorded_run

from vae_explorer.core.checkpoints import save_checkpoint


@pytest.fixture(autouse=True)
def _no_blocking_dialogs(monkeypatch) -> None:
    """QMessageBox's static helpers would block: record their text and answer Ok."""
    STATIC_DIALOGS.clear()

    def record(*args, **kwargs):
        STATIC_DIALOGS.append(" ".join(str(a) for a in args[1:]))
        return QMessageBox.StandardButton.Ok

    for name in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, record)


@pytest.fixture(scope="module")
def history_checkpoint(tmp_path_factory, mnist_test):
    """Three 'epochs' of a small model (seeds 1..3) with the test set's latents, saved with
    their history: (the checkpoint's path, the models by epoch)."""
    models, arrays = recorded_run(mnist_test)
    path = tmp_path_factory.mktemp("history") / "history.safetensors"
    history = [{"epoch": e, "train_loss": 200.0 - e} for e in (1, 2, 3)]
    meta = {"dataset": "mnist", "history": history, "epochs_completed": 3}
    save_checkpoint(models[3], path, meta, arrays=arrays)
    return path, models

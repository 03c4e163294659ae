"""File ▸ Open against the other ways a model becomes current: the newest choice wins, and
a model that became current (and unsaved) meanwhile is asked about before it goes (a
recovered model was replaced, and its recovery copy deleted, without a word)."""

from __future__ import annotations

import copy
import threading

import pytest
from PySide6.QtWidgets import QMessageBox

import vae_explorer.core.checkpoints as checkpoints
from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.window import file_dialogs

Button = QMessageBox.StandardButton


@pytest.fixture
def models(tmp_path):
    paths = {}
    for name, hidden in (("slow", 24), ("other", 40)):
        model = VAE(VAEConfig(latent_dim=2, hidden_dim=hidden))
        paths[name] = save_checkpoint(model, tmp_path / f"{name}.safetensors", {"dataset": "mnist"})
    return paths


@pytest.fixture
def gate(monkeypatch):
    """Reading "slow.safetensors" waits until the gate opens (a large file on a slow disk)."""
    opened = threading.Event()
    real = checkpoints.load_checkpoint

    def load(path, *args, **kwargs):
        if str(path).endswith("slow.safetensors"):
            opened.wait(20)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "load_checkpoint", load)
    yield opened
    opened.set()


def test_a_model_opened_while_an_older_open_is_read_wins(window, qtbot, models, gate):
    window.files.open_model_in_background(models["slow"])
    assert window.open_model(models["other"])  # (the shipped model of a dataset chosen, say)
    gate.set()
    qtbot.waitUntil(lambda: not window.files.opening, timeout=10_000)
    qtbot.wait(50)
    assert window.state.model_path == models["other"]


def test_a_model_that_became_current_while_the_dialog_was_up_is_asked_about(window, monkeypatch, models):
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_unsaved", lambda before: asked.append(before) or Button.Cancel)
    recovered = copy.deepcopy(window.state.model)

    def dialog(*args, **kwargs):  # the recovery question answered Open while it was up
        window.state.set_model(recovered, {"dataset": "mnist"}, None, modified=True)
        return str(models["other"])

    monkeypatch.setattr(file_dialogs, "open_file_name", dialog)
    window.menus.open.trigger()
    assert asked and window.state.model is recovered and window.state.modified


def test_an_open_arriving_after_an_unsaved_model_came_asks_first(window, qtbot, models, gate, monkeypatch):
    answers = [Button.Cancel]
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_unsaved", lambda before: asked.append(before) or answers.pop())
    window.files.open_model_in_background(models["slow"])
    recovered = copy.deepcopy(window.state.model)
    window.state.set_model(recovered, {"dataset": "mnist"}, None, modified=True)  # not by an open
    gate.set()
    qtbot.waitUntil(lambda: not window.files.opening, timeout=10_000)
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert window.state.model is recovered and window.state.modified

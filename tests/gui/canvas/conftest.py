"""Fixtures for the canvas tests: a real ExplorerState and a CanvasPanel built on it."""

from __future__ import annotations

import pytest

from vae_explorer.gui.canvas import CanvasPanel
from vae_explorer.gui.state import ExplorerState


@pytest.fixture
def state():
    """An empty state: no model, no test set."""
    return ExplorerState()


@pytest.fixture
def make_panel(qtbot, state):
    """Builds a shown CanvasPanel on ``state`` (live imputation off); shut down after."""
    panels = []

    def make(live: bool = False) -> CanvasPanel:
        w = CanvasPanel(state)
        qtbot.addWidget(w)
        w.resize(520, 900)
        # An even number of screen pixels per canvas pixel puts pixel centres on integer
        # mouse positions, so the expected footprints are exact.
        w.canvas.setFixedSize(28 * 14, 28 * 14)
        w.show()
        qtbot.waitExposed(w)
        w.live_check.setChecked(live)
        panels.append(w)
        return w

    yield make
    for w in panels:
        w.shutdown()


@pytest.fixture
def panel(make_panel):
    return make_panel()

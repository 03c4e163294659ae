"""What keeps training in the window near the headless speed (benchmarks/gui_bench.py):
the GIL switch interval while a run trains, and no work for docks in tabs behind others."""

from __future__ import annotations

import sys

import pytest
from gui_helpers import data_pos, set_view
from window_helpers import LEFT, small_run

from vae_explorer.gui.on_screen import on_screen
from vae_explorer.gui.window.training_controller import TRAINING_SWITCH_S


def test_switch_interval_is_short_while_training_and_restored_after(window, qtbot):
    before = sys.getswitchinterval()
    assert before > TRAINING_SWITCH_S  # the interpreter's default, 5 ms
    small_run(window, epochs=2)
    seen = []
    window.trainer.batchMetrics.connect(lambda _ev: seen.append(sys.getswitchinterval()))
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=60_000)
    assert seen and max(seen) == pytest.approx(TRAINING_SWITCH_S)
    assert sys.getswitchinterval() == pytest.approx(before)


def test_switch_interval_is_restored_after_a_stopped_run(window, qtbot):
    before = sys.getswitchinterval()
    small_run(window, epochs=500)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(lambda: window.training.curves.series("loss")[0].size > 0, timeout=30_000)
    assert sys.getswitchinterval() == pytest.approx(TRAINING_SWITCH_S)
    assert window.trainer.stop(wait_ms=30_000)
    assert sys.getswitchinterval() == pytest.approx(before)


def _decodes_per_click(window, qtbot, monkeypatch) -> tuple[int, int]:
    """(decodes, posterior requests) made by one click in the scatter."""
    counts = {"decode": 0}
    state = window.state
    real_decode = state.decode

    def counting_decode(z):
        counts["decode"] += 1
        return real_decode(z)

    monkeypatch.setattr(state, "decode", counting_decode)
    posterior_requests = []
    monkeypatch.setattr(window.posterior.runner, "submit", lambda request: posterior_requests.append(request))
    set_view(window, -6.0, 6.0)
    x, y = state.latents[0][7, list(state.dims)]  # on a test point: the click picks it
    qtbot.mouseClick(window.scatter.plot.viewport(), LEFT, pos=data_pos(window, x, y).toPoint())
    qtbot.wait(400)  # past the posterior's debounce
    assert state.picked_index is not None
    return counts["decode"], len(posterior_requests)


def test_a_click_decodes_only_for_the_docks_on_screen(window, qtbot, monkeypatch):
    """Default layout: Posterior behind the grid's tab, Traversal behind the Timeline's.
    A click decodes the preview's image and the picked image's reconstruction, nothing for
    the docks nobody sees (measured before: + the traversal's decode and an exact posterior
    solve per click, which halved training's speed in the window)."""
    window.grid_dock.raise_()
    window.timeline_dock.raise_()
    qtbot.wait(20)
    assert not on_screen(window.posterior) and not on_screen(window.traversal)
    decodes, posterior_requests = _decodes_per_click(window, qtbot, monkeypatch)
    assert decodes <= 2
    assert posterior_requests == 0


def test_the_posterior_on_screen_still_follows_a_click(window, qtbot, monkeypatch):
    window.posterior_dock.raise_()
    qtbot.wait(20)
    assert on_screen(window.posterior)
    _decodes, posterior_requests = _decodes_per_click(window, qtbot, monkeypatch)
    assert posterior_requests >= 1


def test_docks_in_back_tabs_are_not_on_screen(window, qtbot):
    window.grid_dock.raise_()
    qtbot.wait(20)
    assert on_screen(window.grid) and on_screen(window.preview)
    assert not on_screen(window.posterior)
    window.posterior_dock.raise_()
    qtbot.wait(20)
    assert on_screen(window.posterior) and not on_screen(window.grid)
    assert window.grid_dock.isVisible()  # as far as Qt's isVisible() goes, it still is


def test_a_snapshot_decodes_the_walk_only_when_its_tab_is_seen(window, qtbot, monkeypatch):
    """A walk between two test digits follows each training snapshot; behind the Timeline's
    tab it decodes nothing until the Walk tab comes up (its path on the scatter still moves)."""
    import vae_explorer.gui.panels.walk as walk_module

    walk, state = window.walk, window.state
    walk.walk_between(walk.test_image_end(3), walk.test_image_end(5))
    window.timeline_dock.raise_()
    qtbot.waitUntil(lambda: not on_screen(walk))
    decodes, paths = [], []
    real = walk_module.decode_path
    monkeypatch.setattr(walk_module, "decode_path", lambda *a, **k: decodes.append(1) or real(*a, **k))
    walk.pathChanged.connect(lambda: paths.append(1))
    mu, logvar = state.latents
    state.set_model(state.model, state.model_meta, state.model_path, latents=(mu + 0.25, logvar))
    assert not decodes and paths  # the path moved, the strips wait
    window.walk_dock.raise_()
    qtbot.waitUntil(lambda: len(decodes) == len(walk.kinds()), timeout=5000)
    np_end = walk.ends["A"].z
    assert abs(float(np_end[0]) - float(mu[3, 0] + 0.25)) < 1e-5

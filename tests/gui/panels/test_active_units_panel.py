"""The active-units panel alone: bars are the KL per dimension of the state's latents, the
count follows Burda's criterion, and a new model's latents redraw it."""

from __future__ import annotations

import numpy as np

from vae_explorer.core.active_units import kl_per_dimension
from vae_explorer.gui.panels.active_units import ACTIVE_COLOUR, INACTIVE_COLOUR, ActiveUnitsPanel


def test_bars_are_kl_per_dimension_and_count_follows_activity(qtbot, state, make_model):
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(3, latent_dim=5), {}, None)
    mu, logvar = state.latents
    heights = panel.bars.opts["height"]
    np.testing.assert_allclose(heights, kl_per_dimension(mu, logvar), rtol=1e-6)
    expected = int((mu.astype(np.float64).var(axis=0, ddof=1) > 0.01).sum())
    assert panel.units.count == expected
    assert f"Active units: {expected} / 5" in panel.summary.text()


def test_a_collapsed_dimension_is_grey(qtbot, state, make_model, monkeypatch):
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    model = make_model(4, latent_dim=3)
    n = len(state.test_set)
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(n, 3)).astype(np.float32)
    mu[:, 1] = 0.001 * rng.normal(size=n)  # dimension 1 collapsed: its mean never moves
    logvar = np.zeros((n, 3), np.float32)
    state.set_model(model, {}, None, latents=(mu, logvar))
    assert panel.units.active.tolist() == [True, False, True]
    brushes = [b.color().name() for b in panel.bars.opts["brushes"]]
    assert brushes == [ACTIVE_COLOUR, INACTIVE_COLOUR, ACTIVE_COLOUR]
    assert "2 / 3" in panel.summary.text()


def test_an_infinite_kl_fills_its_bar_instead_of_failing(qtbot, state, make_model):
    """A diverged model's log-variance of 800 overflows the KL to infinity."""
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    n = len(state.test_set)
    mu = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    logvar = np.zeros((n, 3), np.float32)
    logvar[:, 2] = 800.0
    state.set_model(make_model(4, latent_dim=3), {}, None, latents=(mu, logvar))
    heights = panel.bars.opts["height"]
    top = panel.plot.viewRange()[1][1]
    assert np.isfinite(heights).all() and np.isfinite(top) and heights[2] == heights.max()
    assert "KL inf nats" in panel.summary.text()


def test_live_snapshots_skip_a_hidden_panel_until_it_shows(qtbot, state, make_model):
    """While training, a panel nobody sees does no work; shown, it catches up at once."""
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)  # never shown yet: as a dock tab behind another
    first = panel.units
    for seed in (5, 6, 7):
        state.set_model(make_model(seed, latent_dim=4), {}, None, live=True)
        qtbot.wait(300)  # past the live throttle
    assert panel.units is first  # nothing computed for a hidden panel
    panel.show()
    qtbot.waitUntil(lambda: panel.units is not first and len(panel.units.kl_per_dim) == 4, timeout=2000)
    mu, logvar = state.latents
    np.testing.assert_allclose(panel.bars.opts["height"], kl_per_dimension(mu, logvar), rtol=1e-6)


def test_a_run_end_redraws_a_hidden_panel_at_once(qtbot, state, make_model):
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(5, latent_dim=4), {}, None, live=True)
    state.set_model(make_model(6, latent_dim=3), {}, None, live=False)  # the final snapshot
    assert panel.units is not None and len(panel.units.kl_per_dim) == 3


def test_a_wide_model_gets_few_enough_dimension_labels_to_read(qtbot, state, make_model):
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(1, latent_dim=50), {}, None)
    (ticks,) = panel.plot.getAxis("bottom")._tickLevels
    assert 5 <= len(ticks) <= 8 and ticks[0] == (0, "0")


def test_a_short_plot_shows_its_ticks_without_the_cut_axis_title(qtbot, state):
    """At 1024 x 700 "latent dimension" under the ticks was cut in half by the dock's edge."""
    from PySide6.QtWidgets import QApplication

    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    axis = panel.plot.getAxis("bottom")
    panel.resize(320, 150)  # a short bottom dock
    QApplication.processEvents()
    assert not axis.label.isVisible() and axis.isVisible()
    panel.resize(500, 320)
    QApplication.processEvents()
    assert axis.label.isVisible()

"""The active-units chart labels every bar when the labels fit side by side (a 10-d model's
odd dimensions were bare: only 0, 2, 4, 6, 8), and a readable subset when they do not."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from vae_explorer.gui.panels.active_units import ActiveUnitsPanel


def labelled(panel) -> list[int]:
    (ticks,) = panel.plot.getAxis("bottom")._tickLevels
    return [int(i) for i, _ in ticks]


def shown_at(panel, qtbot, width: int, height: int = 220) -> None:
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    QApplication.processEvents()


@pytest.mark.parametrize(("d", "width"), [(10, 640), (20, 640), (32, 760)])
def test_every_bar_is_labelled_when_there_is_room(qtbot, state, make_model, d, width):
    """The Active units dock is about 640 px wide at 1400 x 900."""
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    shown_at(panel, qtbot, width)
    state.set_model(make_model(1, latent_dim=d), {}, None)
    QApplication.processEvents()
    assert labelled(panel) == list(range(d))


def test_a_narrow_chart_labels_a_subset_that_does_not_run_together(qtbot, state, make_model):
    panel = ActiveUnitsPanel(state)
    qtbot.addWidget(panel)
    state.set_model(make_model(1, latent_dim=32), {}, None)
    shown_at(panel, qtbot, 760)
    assert labelled(panel) == list(range(32))
    panel.resize(260, 220)  # narrower: the labels follow the width
    QApplication.processEvents()
    shown = labelled(panel)
    assert shown[0] == 0 and 3 <= len(shown) < 32
    step = shown[1] - shown[0]
    assert all(b - a == step for a, b in zip(shown, shown[1:], strict=False))
    axis = panel.plot.getAxis("bottom")
    widest = QFontMetrics(axis.style.get("tickFont") or axis.font()).horizontalAdvance("31")
    bar_px = panel.plot.getPlotItem().vb.width() / 32.2
    assert step * bar_px >= widest  # neighbouring labels apart
    panel.resize(760, 220)  # wide again: every bar
    QApplication.processEvents()
    assert labelled(panel) == list(range(32))


def test_dimension_ticks_steps():
    from vae_explorer.gui.panels.active_units import dimension_ticks

    assert [i for i, _ in dimension_ticks(10, 40, 8)] == list(range(10))
    assert [i for i, _ in dimension_ticks(10, 8, 8)] == [0, 2, 4, 6, 8]
    # More than 32 dimensions: a subset of at most 8 labels, however wide.
    assert [i for i, _ in dimension_ticks(50, 100, 14)] == [0, 10, 20, 30, 40]
    assert [i for i, _ in dimension_ticks(1, 0, 8)] == [0]
    assert dimension_ticks(0, 0, 8) == []

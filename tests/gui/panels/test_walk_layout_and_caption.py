"""The Walk dock's layout and caption: at 1400 x 900 a 10-d model's two strips and their
names show whole without scrolling (the great circle's strip was cut off, its name read
"great", and the dock scrolled); a labelled model's walk says which digit every frame is
drawn as, and follows that digit; the "Set" buttons' menu arrows keep off their text."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QApplication, QScrollArea, QStyle

from vae_explorer.core.data import PROJECT_ROOT
from vae_explorer.gui.panels.walk import WalkPanel


def laid_out_at(window, qtbot, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size().toTuple() == (width, height), timeout=3000)
    QApplication.processEvents()


def shown_whole(widget) -> bool:
    """Visible and not cut off by any parent (a dock, a scroll area's viewport, the window)."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    return widget.visibleRegion().boundingRect() == widget.rect()


def text_fits(label) -> bool:
    """The label's text (one line or more) inside its rectangle, uncut."""
    flags = int(label.alignment()) | int(Qt.TextFlag.TextWordWrap if label.wordWrap() else 0)
    need = label.fontMetrics().boundingRect(label.contentsRect(), flags, label.text())
    return label.contentsRect().contains(need)


def scroll_area_of(widget) -> QScrollArea:
    while not isinstance(widget, QScrollArea):
        widget = widget.parentWidget()
    return widget


def zero_and_one(window) -> tuple[int, int]:
    labels = window.state.test_set.labels
    return int(np.flatnonzero(labels == 0)[0]), int(np.flatnonzero(labels == 1)[0])


@pytest.mark.parametrize("model", ["mnist-bernoulli-z10", "m1m2-mnist-100"])
def test_both_strips_and_their_names_show_whole_at_1400_by_900(app_theme, make_window, qtbot, model):
    window = make_window(PROJECT_ROOT / "trained" / f"{model}.safetensors")
    laid_out_at(window, qtbot, 1400, 900)
    window.menus.reset_layout.trigger()
    window.walk_dock.raise_()
    walk = window.walk
    qtbot.waitUntil(walk.isVisible, timeout=3000)
    a, b = zero_and_one(window)
    walk.walk_between(walk.test_image_end(a), walk.test_image_end(b))  # (as "Walk from / to")
    qtbot.waitUntil(lambda: window.views_ready, timeout=20000)
    QApplication.processEvents()
    area = scroll_area_of(walk)
    assert not area.verticalScrollBar().isVisible() and not area.horizontalScrollBar().isVisible()
    names = (walk.linear_label, walk.spherical_label)
    for w in (*names, walk.linear_canvas, walk.spherical_canvas):
        assert shown_whole(w), w
    for name in names:
        assert text_fits(name), name.text()
    assert walk.spherical_label.text().replace("\n", " ") == "great circle"
    # Every digit of both strips on show, however small, and every control whole.
    for canvas in (walk.linear_canvas, walk.spherical_canvas):
        assert canvas.height() >= 16
    kinds = (QAbstractButton, QAbstractSpinBox)
    for w in [w for kind in kinds for w in walk.findChildren(kind) if w.isVisibleTo(walk)]:
        assert shown_whole(w), w
    if model.startswith("m1m2"):  # and the caption saying which digit they are drawn as
        assert shown_whole(walk.caption) and walk.caption.shown_text() == walk.caption.text()


def test_a_labelled_models_walk_says_which_digit_every_frame_is_drawn_as(qtbot, state, labelled_model):
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    panel.resize(640, 160)
    panel.show()
    qtbot.waitExposed(panel)
    panel.walk_between(panel.test_image_end(0), panel.test_image_end(1))
    assert panel.strips and not panel.caption.isVisible()  # a VAE: no digit to tell
    assert "drawn as" not in panel.caption.text()

    state.set_model(labelled_model, {}, None)
    state.set_shown_class(7)
    panel.walk_between(panel.test_image_end(0), panel.test_image_end(1))
    QApplication.processEvents()
    assert panel.caption.isVisible() and "drawn as 7" in panel.caption.text()
    with torch.no_grad():
        seven = labelled_model.decode(torch.as_tensor(panel.ends["A"].z[None]), 7).numpy()
    np.testing.assert_allclose(panel.strips["linear"][0], seven.reshape(28, 28), atol=1e-5)

    state.set_shown_class(3)  # the Latent grid's Digit changes: the walk and its caption follow
    qtbot.waitUntil(lambda: "drawn as 3" in panel.caption.text(), timeout=2000)
    assert "drawn as 7" not in panel.caption.text() and panel.caption.isVisible()
    with torch.no_grad():
        three = labelled_model.decode(torch.as_tensor(panel.ends["A"].z[None]), 3).numpy()
    np.testing.assert_allclose(panel.strips["linear"][0], three.reshape(28, 28), atol=1e-5)

    panel.set_end("B", None)  # no walk: nothing to caption
    assert not panel.caption.isVisible()


def test_the_set_buttons_arrow_keeps_off_their_text(app_theme, qtbot, state):
    """The menu arrow sat on the "t" of "Set" (a 36 px tool button)."""
    panel = WalkPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    for button in panel.set_buttons.values():
        assert button.menu() is not None and button.text() == "Set"
        arrow = button.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, button)
        text = button.fontMetrics().horizontalAdvance(button.text())
        # The text centred in the button ends left of the arrow's room at its right.
        assert (button.width() + text) / 2 <= button.width() - arrow, (button.width(), text, arrow)

"""The SVG export shows the canvas marker as the PNG does: the star, its ellipses and its
"canvas" tag, kept to the plot like the other items (issue: the SVG had none of them). The
PNG enlarges the legend and the markers as much as the axes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from scatter_helpers import set_range

from vae_explorer.gui.scatter.markers import CANVAS_LABEL, POSTERIOR_COLOUR


@pytest.fixture
def drawn(qtbot, view, state):
    """A test digit on a Canvas panel beside the view; the view fitted around its marker."""
    from vae_explorer.gui.canvas import CanvasPanel

    panel = CanvasPanel(state)
    qtbot.addWidget(panel)
    panel.live_check.setChecked(False)
    panel.load_test_digit(3)
    qtbot.waitUntil(lambda: state.canvas_posterior is not None, timeout=5000)
    mu = view.posterior_marker.pos()
    set_range(view, (mu.x() - 2.0, mu.x() + 2.0), (mu.y() - 2.0, mu.y() + 2.0))
    QApplication.processEvents()
    yield view.posterior_marker
    panel.shutdown()


def _colour_paths(svg: str) -> int:
    """Elements filled or stroked in the posterior's yellow."""
    return len(re.findall(rf'(?:fill|stroke)="{POSTERIOR_COLOUR}"', svg, flags=re.IGNORECASE))


def test_the_svg_export_shows_the_canvas_marker_and_its_label(drawn, view, tmp_path):
    from vae_explorer.gui.window.export import export_svg

    assert drawn.isVisible() and drawn.star.isVisible()
    svg = export_svg(view, tmp_path / "canvas.svg").read_text(encoding="utf-8")
    assert re.search(rf">\s*{CANVAS_LABEL}\s*<", svg), "the canvas tag's text is missing"
    assert _colour_paths(svg) >= 3, "the star and its two ellipses are missing"  # star, 1 and 2 sigma
    # Everything is put back as it was.
    assert drawn.isVisible() and drawn.star.isVisible() and drawn.label.isVisible()
    assert drawn.ellipse_1sd.path().elementCount() > 10


def test_a_canvas_marker_off_the_plot_stays_out_of_the_svg(drawn, view, tmp_path):
    from vae_explorer.gui.window.export import export_svg

    mu = drawn.pos()
    set_range(view, (mu.x() + 50.0, mu.x() + 52.0), (mu.y() + 50.0, mu.y() + 52.0))  # far away
    QApplication.processEvents()
    svg = export_svg(view, tmp_path / "away.svg").read_text(encoding="utf-8")
    assert CANVAS_LABEL not in svg and _colour_paths(svg) == 0
    assert drawn.isVisible()


def test_an_ellipse_past_the_frame_is_cut_at_it(drawn, view, tmp_path):
    """Zoomed in on the star: its ellipses reach past the plot, and the SVG keeps only the
    parts inside (the other items' rule), with the star and tag still there."""
    from vae_explorer.gui.scatter.svg_clip import clipped_for_svg
    from vae_explorer.gui.window.export import export_svg

    mu, one = drawn.pos(), drawn.ellipse_1sd.path().boundingRect()  # (about the mean)
    w, h = one.width(), one.height()
    set_range(view, (mu.x() - 0.2 * w, mu.x() + 0.8 * w), (mu.y() - 0.25 * h, mu.y() + 0.25 * h))
    QApplication.processEvents()
    rect, before = view.vb.viewRect(), drawn.ellipse_1sd.path()
    assert not rect.contains(drawn.mapRectToParent(before.boundingRect()))  # it reaches past
    with clipped_for_svg(view):
        assert drawn.star.isVisible() and drawn.ellipse_1sd.isVisible()
        shown = drawn.mapRectToParent(drawn.ellipse_1sd.path().boundingRect())
        assert rect.adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(shown)
    assert drawn.ellipse_1sd.path() == before  # put back
    svg = export_svg(view, tmp_path / "close.svg").read_text(encoding="utf-8")
    assert re.search(rf">\s*{CANVAS_LABEL}\s*<", svg) and _colour_paths(svg) >= 2


def test_a_tag_at_the_frame_turns_inward_for_the_export(drawn, view):
    """The star in the plot's top right corner: its tag (up and right of it) would be
    written over the frame; for the export it sits on the star's other side."""
    from vae_explorer.gui.scatter.svg_clip import clipped_for_svg, tag_and_frame

    mu = drawn.pos()
    set_range(view, (mu.x() - 2.0, mu.x() + 0.02), (mu.y() - 2.0, mu.y() + 0.02))
    QApplication.processEvents()
    before = drawn.label.pos()
    tag, frame = tag_and_frame(drawn, view)
    assert not frame.contains(tag)
    with clipped_for_svg(view):
        tag, frame = tag_and_frame(drawn, view)
        assert drawn.label.isVisible() and frame.contains(tag), (tag, frame)
    assert drawn.label.pos() == before


def _light_pixels(image: QImage, rect: QRectF) -> int:
    """Pixels of light text (the legend's names) inside ``rect`` of ``image``."""
    part = image.copy(rect.toAlignedRect()).convertToFormat(QImage.Format.Format_RGB32)
    ptr = part.constBits()
    rgb = np.frombuffer(ptr, np.uint8).reshape(part.height(), part.bytesPerLine() // 4, 4)[
        :, : part.width(), :3
    ]
    return int((rgb.min(axis=2) > 170).sum())


def _yellow_pixels(image: QImage) -> int:
    rgb = QImage(image).convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine() // 4, 4)
    b, g, r = (a[:, : rgb.width(), k].astype(int) for k in range(3))
    return int(((r > 200) & (g > 190) & (b < 120)).sum())


def test_the_png_export_enlarges_the_legend_and_markers_as_much_as_the_axes(drawn, view, tmp_path):
    """The PNG is drawn wider than the screen: the axes' text grew with it, but the legend,
    the points and the markers (a fixed pixel size) stayed as small as on screen."""
    from vae_explorer.gui.window.export import MIN_PNG_WIDTH, export_png

    item = view.plot.getPlotItem()
    source = item.sceneBoundingRect()
    scale = MIN_PNG_WIDTH / source.width()
    assert scale > 1.5  # (the test view is narrower than the PNG)
    screen = view.plot.grab().toImage()
    png = QImage(str(export_png(view, tmp_path / "view.png")))
    assert png.width() == MIN_PNG_WIDTH
    legend = view.legend.sceneBoundingRect()
    on_screen = _light_pixels(screen, QRectF(view.plot.mapFromScene(legend.topLeft()), legend.size()))
    shown = QRectF((legend.topLeft() - source.topLeft()) * scale, legend.size() * scale)
    in_png = _light_pixels(png, shown)
    assert on_screen > 50 and in_png > 0.6 * scale**2 * on_screen, (in_png, on_screen, scale)
    # The canvas star grew alike (the pixels about it: yellow class-5 points lie elsewhere).
    star = view.data_to_viewport(drawn.pos().x(), drawn.pos().y())
    at = view.plot.mapToScene(star.toPoint()) - source.topLeft()
    r = 10.0
    star_on_screen = _yellow_pixels(screen.copy(QRectF(star.x() - r, star.y() - r, 2 * r, 2 * r).toRect()))
    box = QRectF((at.x() - r) * scale, (at.y() - r) * scale, 2 * r * scale, 2 * r * scale)
    star_in_png = _yellow_pixels(png.copy(box.toRect()))
    assert star_on_screen > 30 and star_in_png > 0.6 * scale**2 * star_on_screen, (
        star_in_png,
        star_on_screen,
    )

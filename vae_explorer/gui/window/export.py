"""Exports of the latent view (PNG, SVG) and of the latents (CSV), each written atomically.

Every export goes to a temporary file beside the target and is renamed over it only once
it is complete and checked: a full disk or a read-only folder leaves the earlier export of
that name as it was and is reported, never "Exported" over a truncated file.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from ...core.files import atomic_path
from ...core.rendering import write_latents_csv
from ..scatter import LatentScatterView
from ..scatter.svg_clip import clipped_for_svg
from ..state import ExplorerState

MIN_PNG_WIDTH = 1200


class ExportError(OSError):
    """An export that could not be written; the message names the file and the cause."""


def _write_checked(path: Path, write: Callable[[Path], None], check: Callable[[Path], bool]) -> Path:
    with atomic_path(path) as tmp:
        write(tmp)
        if not check(tmp):
            raise ExportError("the file was not written completely (no permission, or a full disk?)")
    return path


def export_png(scatter: LatentScatterView, path: str | os.PathLike[str]) -> Path:
    """The scatter's plot as a PNG at least ``MIN_PNG_WIDTH`` pixels wide: the plot as on
    screen, enlarged as a whole.

    pyqtgraph's ImageExporter enlarged by scaling the painter, which items of a fixed pixel
    size ignore: the legend, the points, the crosshair and the canvas marker came out at half
    the size of the axes' text. An image with a device pixel ratio scales all alike.
    """
    import pyqtgraph.exporters as exporters

    item = scatter.plot.getPlotItem()
    exporter = exporters.ImageExporter(item)  # (for its background and export mode)
    source = exporter.getSourceRect()
    scale = max(1.0, MIN_PNG_WIDTH / max(source.width(), 1.0))
    width, height = math.ceil(source.width() * scale), math.ceil(source.height() * scale)
    axes = [item.getAxis(side) for side in ("left", "bottom")]

    def write(tmp: Path) -> None:
        image = QImage(width, height, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(scale)
        image.fill(exporter.parameters()["background"])
        caching = [axis.cacheMode() for axis in axes]
        painter = QPainter(image)
        try:
            for axis in axes:  # (their cached pictures are the screen's pixels)
                axis.setCacheMode(QGraphicsItem.CacheMode.NoCache)
            exporter.setExportMode(True, {"antialias": True, "painter": painter})
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            target = QRectF(0, 0, width / scale, height / scale)
            item.scene().render(painter, target, source)
        finally:
            exporter.setExportMode(False)
            painter.end()
            for axis, mode in zip(axes, caching, strict=True):
                axis.setCacheMode(mode)
        if not image.save(str(tmp), "PNG"):  # type: ignore[call-overload]  # (str at run time)
            raise ExportError("the image could not be written (no permission, or a full disk?)")

    return _write_checked(Path(path), write, _png_complete)


def _png_complete(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(8)
        f.seek(max(0, os.path.getsize(path) - 12))
        tail = f.read()
    return head == b"\x89PNG\r\n\x1a\n" and b"IEND" in tail


def export_svg(scatter: LatentScatterView, path: str | os.PathLike[str]) -> Path:
    """The scatter's plot as SVG, with the points as real circles.

    pyqtgraph 0.14's SVGExporter cannot parse the path syntax Qt 6.12 writes, so the view
    is rendered straight into a QSvgGenerator.
    """
    view = scatter.plot
    size = view.viewport().size()

    def write(tmp: Path) -> None:
        gen = QSvgGenerator()
        gen.setFileName(str(tmp))
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRect(0, 0, size.width(), size.height()))
        gen.setResolution(view.logicalDpiX())  # (the axes' text is sized for the screen's)
        gen.setTitle("VAE Explorer latent space")
        with clipped_for_svg(scatter):
            painter = QPainter(gen)
            try:
                view.render(painter)
            finally:
                ended = painter.end()  # (always: a painter left open on its device crashes)
            if not ended:
                raise ExportError("the SVG could not be written (no permission, or a full disk?)")

    def write_portable(tmp: Path) -> None:
        write(tmp)
        if _svg_complete(tmp):
            tmp.write_text(strokes_in_final_coordinates(tmp.read_text(encoding="utf-8")), encoding="utf-8")

    return _write_checked(Path(path), write_portable, _svg_complete)


_GROUP = re.compile(r"<g\b[^>]*>")
_MATRIX = re.compile(r'transform="matrix\(([^)]*)\)"')
_NON_SCALING = ' vector-effect="non-scaling-stroke"'


def _divided(attribute: re.Match[str], scale: float) -> str:
    values = ",".join(f"{float(v) / scale:.6g}" for v in attribute.group(2).split(","))
    return f'{attribute.group(1)}="{values}"'


def strokes_in_final_coordinates(svg: str) -> str:
    """Qt writes cosmetic pens as strokes inside a scaled group with
    ``vector-effect="non-scaling-stroke"``, which renderers such as librsvg ignore: the
    2-px outline of a posterior ellipse, scaled ~50x, became a solid disc there. Divide each
    such group's stroke width and dashes by the group's scale and drop the attribute, so
    every renderer draws what the window shows."""
    out: list[str] = []
    pos = 0
    groups = list(_GROUP.finditer(svg))
    for i, m in enumerate(groups):
        end = groups[i + 1].start() if i + 1 < len(groups) else len(svg)
        body = svg[m.end() : end]
        tag = m.group(0)
        matrix = _MATRIX.search(tag)
        if _NON_SCALING in body and matrix is not None:
            a, b, c, d = (float(v) for v in matrix.group(1).split(",")[:4])
            scale = abs(a * d - b * c) ** 0.5
            if scale > 0 and abs(scale - 1) > 1e-9:
                tag = re.sub(
                    r'(stroke-width|stroke-dasharray)="([^"]*)"', partial(_divided, scale=scale), tag
                )
            body = body.replace(_NON_SCALING, "")
        out.append(svg[pos : m.start()])
        out.append(tag + body)
        pos = end
    out.append(svg[pos:])
    return "".join(out)


def _svg_complete(path: Path) -> bool:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - 64))
        return b"</svg>" in f.read()


def export_latents_csv(state: ExplorerState, path: str | os.PathLike[str]) -> Path:
    """The test set's latents (mu, logvar) with labels and class names, one row an image."""
    latents, test = state.latents, state.test_set
    if latents is None or test is None:
        raise ExportError("no latents to export: open or train a model first")

    def write(tmp: Path) -> None:
        write_latents_csv(tmp, latents[0], latents[1], test.labels, test.classes)

    expected_rows = len(latents[0]) + 1
    return _write_checked(Path(path), write, lambda tmp: _record_count(tmp) == expected_rows)


def _record_count(path: Path) -> int:
    """CSV records, not lines: a class name may hold a (quoted) newline. A truncated
    file ends mid-record or short of rows, and either way counts wrong."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return sum(1 for _ in csv.reader(f, strict=True))
    except (csv.Error, UnicodeDecodeError):
        return -1

"""Render the figures that need text (legend, axes, labels) with QPainter on a QImage.

Used by `vae-explorer figures` headless (QT_QPA_PLATFORM=offscreen): the pixels come from
vae_explorer.core.figures, this module only adds fonts and lines, then saves PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QImage, QPainter, QPen

from ..core.figures import class_colours
from ..core.files import atomic_path
from ..core.image import to_uint8

_app: QGuiApplication | None = None  # kept alive for the process


def ensure_gui_app() -> None:
    """Fonts need an application object; start an offscreen one if none is running.

    It is a full QApplication, not a QGuiApplication: the process may go on to show widgets
    (tests do), and Qt cannot upgrade a running QGuiApplication.
    """
    global _app
    if QGuiApplication.instance() is None:
        from PySide6.QtWidgets import QApplication

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QApplication([])


def array_to_qimage(image: np.ndarray) -> QImage:
    """A deep-copied QImage from greyscale [H, W] or RGB [H, W, 3] pixels."""
    a = np.ascontiguousarray(to_uint8(image))
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()


def _font(size: int, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPixelSize(size)
    f.setBold(bold)
    return f


def _save(img: QImage, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        if not img.save(str(tmp)):  # PNG, by the suffix
            raise OSError(f"could not write {path} (no permission, or a full disk?)")
    return path


def render_latent_scatter(
    latents: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    path: str | os.PathLike[str],
    title: str = "",
    size: int = 800,
) -> Path:
    """Scatter of 2-d latents coloured by label, with axes, ticks and a legend; saves a PNG."""
    ensure_gui_app()
    z = np.asarray(latents, np.float64)[:, :2]
    labels = np.asarray(labels).astype(int)
    legend_w, margin, top = 150, 60, 40 if title else 20
    img = QImage(size + legend_w, size, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(margin, top, size - margin - 20, size - top - margin)
    lo = np.percentile(z, 0.5, axis=0) if len(z) else np.array([-1.0, -1.0])
    hi = np.percentile(z, 99.5, axis=0) if len(z) else np.array([1.0, 1.0])
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def to_px(x: float, y: float) -> QPointF:
        px = plot.left() + (x - lo[0]) / (hi[0] - lo[0]) * plot.width()
        py = plot.bottom() - (y - lo[1]) / (hi[1] - lo[1]) * plot.height()
        return QPointF(px, py)

    # axes and ticks
    p.setPen(QPen(QColor(60, 60, 60), 1))
    p.drawRect(plot)
    p.setFont(_font(12))
    for axis in (0, 1):
        for t in _ticks(lo[axis], hi[axis]):
            if axis == 0:
                pt = to_px(t, lo[1])
                p.drawLine(pt, pt + QPointF(0, 5))
                p.drawText(QRectF(pt.x() - 30, pt.y() + 6, 60, 16),
                           Qt.AlignmentFlag.AlignCenter, f"{t:g}")  # fmt: skip
            else:
                pt = to_px(lo[0], t)
                p.drawLine(pt, pt - QPointF(5, 0))
                p.drawText(QRectF(pt.x() - 50, pt.y() - 8, 42, 16),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{t:g}")  # fmt: skip
    p.setFont(_font(14))
    p.drawText(QRectF(plot.left(), size - 28, plot.width(), 20), Qt.AlignmentFlag.AlignCenter, "z₁")
    p.save()
    p.translate(14, plot.center().y())
    p.rotate(-90)
    p.drawText(QRectF(-50, -10, 100, 20), Qt.AlignmentFlag.AlignCenter, "z₂")
    p.restore()
    if title:
        p.setFont(_font(15, bold=True))
        p.drawText(QRectF(0, 8, size + legend_w, 24), Qt.AlignmentFlag.AlignCenter, title)

    # points: one brush per class, no pen (cheap and crisp)
    colours = class_colours(max(len(class_names), int(labels.max()) + 1 if len(labels) else 1))
    brushes = [QBrush(QColor(int(r), int(g), int(b), 170)) for r, g, b in colours]
    p.setPen(Qt.PenStyle.NoPen)
    p.setClipRect(plot)
    order = np.random.default_rng(0).permutation(len(z))  # no class painted wholly on top
    for i in order:
        p.setBrush(brushes[labels[i]])
        p.drawEllipse(to_px(z[i, 0], z[i, 1]), 2.2, 2.2)
    p.setClipping(False)

    # legend
    p.setFont(_font(13))
    x0, y0 = size + 5, top + 10
    for k, name in enumerate(class_names):
        r, g, b = (int(c) for c in colours[k])
        p.setBrush(QBrush(QColor(r, g, b)))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QPointF(x0 + 8, y0 + 22 * k + 8), 6, 6)
        p.setPen(QPen(QColor(30, 30, 30)))
        p.drawText(QRectF(x0 + 20, y0 + 22 * k, legend_w - 25, 18),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)  # fmt: skip
    p.end()
    return _save(img, path)


def render_labelled_image(
    image: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "",
    row_labels: list[str] | None = None,
    scale: int = 2,
) -> Path:
    """A pixel mosaic enlarged ``scale`` times, with a title and optional row labels."""
    ensure_gui_app()
    pix = array_to_qimage(image)
    w, h = pix.width() * scale, pix.height() * scale
    left = 120 if row_labels else 10
    top = 34 if title else 10
    img = QImage(w + left + 10, h + top + 10, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.drawImage(QRectF(left, top, w, h), pix)  # nearest-neighbour: no smooth transform
    p.setPen(QPen(QColor(30, 30, 30)))
    if title:
        p.setFont(_font(15, bold=True))
        p.drawText(QRectF(0, 6, img.width(), 24), Qt.AlignmentFlag.AlignCenter, title)
    if row_labels:
        p.setFont(_font(13))
        row_h = h / len(row_labels)
        for i, label in enumerate(row_labels):
            p.drawText(QRectF(4, top + i * row_h, left - 10, row_h),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)  # fmt: skip
    p.end()
    return _save(img, path)


def _ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values covering [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / target
    mag = 10 ** np.floor(np.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=10 * mag)
    start = np.ceil(lo / step) * step
    return [round(float(v), 6) for v in np.arange(start, hi + 1e-9, step)]

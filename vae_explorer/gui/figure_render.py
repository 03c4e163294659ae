"""Render the figures that need text (legend, axes, labels) with QPainter on a QImage.

Used by `vae-explorer figures` headless (QT_QPA_PLATFORM=offscreen): the pixels come from
vae_explorer.core.figures, this module only adds fonts and lines, then saves PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QImage, QImageWriter, QPainter, QPen

from ..core.figures import class_colours
from ..core.files import atomic_path, show_path, write_target
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


class FigureWriteError(OSError):
    """A figure could not be written: ``str()`` is the whole message, naming the file asked
    for (never the temporary file beside it) and the reason; ``errno`` is the cause's."""

    def __str__(self) -> str:
        return str(self.strerror)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bytes(img: QImage) -> bytes:
    """``img`` encoded as PNG, in memory. ValueError if Qt cannot encode it."""
    if img.isNull():
        raise ValueError("an empty picture cannot be saved as PNG")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    try:
        writer = QImageWriter(buffer, QByteArray(b"PNG"))
        ok = writer.write(img)
        reason = writer.errorString()
    finally:
        buffer.close()
    encoded = bytes(data.data())
    if not ok or not encoded.startswith(_PNG_SIGNATURE):
        raise ValueError(f"Qt could not encode a {img.width()} x {img.height()} picture as PNG: {reason}")
    return encoded


def _save(img: QImage, path: str | os.PathLike[str]) -> Path:
    """Write ``img`` as a PNG at ``path``, atomically.

    The picture is encoded in memory and its bytes written by Python: Qt itself is never
    given a file name (it turns a name that is not UTF-8 into another name, and would write
    there). A failure raises a FigureWriteError naming ``path`` and the reason.
    """
    path = Path(path)
    data = png_bytes(img)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise FigureWriteError(exc.errno, _cannot_write(path, exc)) from exc
    return path


def _cannot_write(path: Path, exc: OSError) -> str:
    reason = str(exc.strerror or exc)
    reason = reason[:1].lower() + reason[1:]
    folder = write_target(path).parent
    # A missing or unusable folder is named; the target and its temporary twin are not.
    # (Compared as shown: an error may carry a name already made printable by show_path.)
    if exc.filename is not None and show_path(Path(os.fsdecode(exc.filename)).parent) != show_path(folder):
        reason += f" ({show_path(exc.filename)})"
    return f"cannot write {show_path(path)}: {reason}"


def render_latent_scatter(
    latents: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    path: str | os.PathLike[str],
    title: str = "",
    size: int = 800,
) -> Path:
    """Scatter of 2-d latents coloured by label, with axes, ticks and a legend; saves a PNG.

    Latents of more dimensions show the first two; 1-d latents lie on one axis (y = 0), as
    in the window's scatter.
    """
    ensure_gui_app()
    z = np.asarray(latents, np.float64)
    z = (z[:, None] if z.ndim == 1 else z)[:, :2]
    one_d = z.shape[1] < 2
    if one_d:
        z = np.concatenate([z, np.zeros((len(z), 2 - z.shape[1]))], axis=1)
    labels = np.asarray(labels).reshape(-1).astype(int)
    legend_w, margin, top = 150, 60, 40 if title else 20
    img = QImage(size + legend_w, size, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    try:
        _paint_scatter(p, z, labels, class_names, title, size, legend_w, margin, top, one_d)
    finally:
        p.end()  # always: a QImage destroyed while painted takes the process with it
    return _save(img, path)


def _paint_scatter(
    p: QPainter,
    z: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    title: str,
    size: int,
    legend_w: int,
    margin: int,
    top: int,
    one_d: bool,
) -> None:
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(margin, top, size - margin - 20, size - top - margin)
    finite = z[np.isfinite(z).all(axis=1)]
    lo = np.percentile(finite, 0.5, axis=0) if len(finite) else np.array([-1.0, -1.0])
    hi = np.percentile(finite, 99.5, axis=0) if len(finite) else np.array([1.0, 1.0])
    if one_d:  # the points lie on y = 0, drawn across the middle of the plot
        lo[1], hi[1] = -1.0, 1.0
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
    for axis in (0,) if one_d else (0, 1):
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
    if not one_d:
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
        if not np.isfinite(z[i]).all():
            continue
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
    try:
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
    finally:
        p.end()  # always: a QImage destroyed while painted takes the process with it
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
    return [round(float(v), 6) + 0.0 for v in np.arange(start, hi + 1e-9, step)]  # + 0.0: never "-0"

"""An exported picture paints the points in the order the screen does (the data's): where
classes overlap, the point drawn last on screen is on top in the export too (it painted
class by class, so classes 8 and 9 covered the rest)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter, QTransform


def _painted(order: list[int]) -> QColor:
    """The colour at the centre of two points at one place, labels in ``order``, painted
    by the export path."""
    from vae_explorer.gui.scatter.point_cloud import PointCloudItem

    cloud = PointCloudItem(size=9)
    cloud.set_data(np.zeros(2, np.float32), np.zeros(2, np.float32), np.array(order))
    cloud.setExportMode(True, {"antialias": True})
    image = QImage(21, 21, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setTransform(QTransform.fromTranslate(10, 10))
    try:
        cloud.paint(painter, None, None)
    finally:
        painter.end()
        cloud.setExportMode(False)
    return image.pixelColor(10, 10)


def _closer_to(found: QColor, a: str, b: str) -> str:
    def gap(c: str) -> float:
        q = QColor(c)
        return sum((x - y) ** 2 for x, y in zip(q.getRgb()[:3], found.getRgb()[:3], strict=True))

    return a if gap(a) < gap(b) else b


def test_the_export_paints_the_later_point_on_top_as_the_screen_does():
    from vae_explorer.core.figures import CLASS_PALETTE

    nine, zero = CLASS_PALETTE[9], CLASS_PALETTE[0]
    assert _closer_to(_painted([9, 0]), nine, zero) == zero  # 0 comes later: on top
    assert _closer_to(_painted([0, 9]), nine, zero) == nine

"""The Walk panel's strips: the straight walk's and (for d > 2) the great circle's, each
with its name, as tall as the width allows and, in a short scrolled dock, no taller than
lets every strip show without scrolling (their digits then shrink below their 28 px)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QSizePolicy, QWidget

from ...core.interpolation import strip_picture
from ..images import ImageCanvas

MIN_STRIP_HEIGHT = 28  # pixels: one image at its own size
SMALLEST_STRIP = 16  # pixels: a strip shrinks to this in a short dock rather than scroll
MAX_STRIP_HEIGHT = 160
STRIP_SPACING = 4
MARGIN = 4  # pixels under the strips, to the scroll area's bottom


class WalkStrips(QWidget):
    """The strips of a walk, named when there are two; hidden while there is none (its
    empty strips' room made the dock scroll at 1400 x 900)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setVisible(False)
        self._watched_area: QScrollArea | None = None  # (showEvent)
        self.linear_label = QLabel("straight")
        self.linear_label.setToolTip("Along the straight line between the two codes")
        self.spherical_label = QLabel("great circle")  # (one line: two were cut in half)
        self.spherical_label.setToolTip(
            "Along the great circle (spherical interpolation): the path keeps the norm a "
            "Gaussian prior's codes have in many dimensions"
        )
        self.linear_canvas = ImageCanvas(min_side=28)
        self.spherical_canvas = ImageCanvas(min_side=28)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(STRIP_SPACING)
        for row, (name, canvas) in enumerate(
            ((self.linear_label, self.linear_canvas), (self.spherical_label, self.spherical_canvas))
        ):
            name.setStyleSheet("color: #9a9a9a;")
            canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            grid.addWidget(name, row, 0)
            grid.addWidget(canvas, row, 1)
        grid.setColumnStretch(1, 1)

    def show_strips(self, linear: np.ndarray | None, spherical: np.ndarray | None, named: bool) -> None:
        """Show the decoded strips ([n, 28, 28] each, None: none); ``named``: with names."""
        self.linear_canvas.set_image(strip_picture(linear) if linear is not None else None)
        self.spherical_canvas.set_image(strip_picture(spherical) if spherical is not None else None)
        self.spherical_canvas.setVisible(spherical is not None)
        self.linear_label.setVisible(named)
        self.spherical_label.setVisible(named)
        self.setVisible(linear is not None)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_heights()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # A dock made shorter than the panel scrolls it without resizing it: the strips
        # follow the scroll area's own size.
        area = self._scroll_area()
        if area is not None and area is not self._watched_area:
            area.installEventFilter(self)
            self._watched_area = area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self._watched_area and event.type() == QEvent.Type.Resize:
            self.fit_heights()
        return super().eventFilter(watched, event)

    def fit_heights(self) -> None:
        """Each strip as tall as its width allows (no empty band above and below it), and
        in a scrolled dock no taller than lets every strip show without scrolling: in a
        short dock (1400 x 900's, with two strips) a strip's digits shrink below their own
        28 px, to :data:`SMALLEST_STRIP` at the least."""
        canvases = [c for c in (self.linear_canvas, self.spherical_canvas) if c.isVisibleTo(self)]
        cap, floor = MAX_STRIP_HEIGHT, MIN_STRIP_HEIGHT
        room = self._room()
        if room is not None and canvases:
            cap = max(SMALLEST_STRIP, (room - STRIP_SPACING * (len(canvases) - 1)) // len(canvases))
            floor = min(MIN_STRIP_HEIGHT, cap)
        for canvas in (self.linear_canvas, self.spherical_canvas):
            image = canvas.image()
            if image is None:
                canvas.setFixedHeight(MIN_STRIP_HEIGHT)
                continue
            h, w = image.shape
            canvas.setFixedHeight(max(floor, min(cap, round(canvas.width() * h / w))))

    def _scroll_area(self) -> QScrollArea | None:
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QScrollArea):
            widget = widget.parentWidget()
        return widget

    def _room(self) -> int | None:
        """Pixels from the strips' top to the bottom of the scroll area showing them,
        without its scroll bars (None outside one, or before it is laid out): with the
        viewport's height a horizontal bar, shown a moment, left the strips too small."""
        area = self._scroll_area()
        content = area.widget() if area is not None else None
        if area is None or content is None or not content.isAncestorOf(self):
            return None
        top = self.mapTo(content, QPoint(0, 0)).y()
        room = area.maximumViewportSize().height() - top - MARGIN
        return room if top > 0 and room > 0 else None

"""What the window shows while its model is built in the background (start-up, ~1 s).

A plain scatter of the state's latents (a checkpoint's cached test latents: see
core/first_screen.py) with the class legend, and "loading" panels in the docks, the latent
grid and decoder preview showing the file's cached pictures. All drawn with Qt, pyqtgraph
and numpy: this module must not import torch (tests/gui/window/test_window_startup.py).
The real views replace these once the model is ready.

With $VAE_EXPLORER_STARTUP_LOG set to a file, the first paint of the scatter appends
``first_paint <unix time> torch_loaded=<0|1>`` to it (benchmarks/startup_bench.py).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...core.first_screen import usable_palette
from ..state import ExplorerState

STARTUP_LOG_ENV = "VAE_EXPLORER_STARTUP_LOG"
LOADING_TEXT = "Loading the model…"
POINT_SIZE = 4
GREY = (170, 170, 170)


def log_startup(event: str, **fields: Any) -> None:
    """Append ``event <unix time> key=value...`` to $VAE_EXPLORER_STARTUP_LOG, if set."""
    path = os.environ.get(STARTUP_LOG_ENV)
    if not path:
        return
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{event} {time.time():.6f}{extra}\n")
    except OSError:
        pass  # a benchmark's log must never stop the app


def gray_pixmap(image: np.ndarray | None, side: int | None = None) -> QPixmap | None:
    """A uint8 [H, W] image as a pixmap, scaled (pixelated) so its width is ``side``."""
    if image is None or image.ndim != 2 or image.dtype != np.uint8 or image.size == 0:
        return None
    h, w = image.shape
    data = np.ascontiguousarray(image)
    qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    pixmap = QPixmap.fromImage(qimage)
    if side is not None and side != w:
        pixmap = pixmap.scaledToWidth(side, Qt.TransformationMode.FastTransformation)
    return pixmap


class LoadingPanel(QWidget):
    """A dock's stand-in: an optional cached picture and a grey "loading" line."""

    def __init__(
        self, text: str = LOADING_TEXT, image: np.ndarray | None = None, side: int | None = None
    ) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = gray_pixmap(image, side)
        if pixmap is not None:
            self.picture.setPixmap(pixmap)
        self.picture.setVisible(pixmap is not None)
        self.label = QLabel(text)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setStyleSheet("color: #9a9a9a;")
        self.label.setWordWrap(True)
        layout.addStretch(1)
        layout.addWidget(self.picture)
        layout.addWidget(self.label)
        layout.addStretch(1)


class FirstScatter(QWidget):
    """The test set's latents coloured by class, with a legend; not interactive (a press
    says the model is loading). :meth:`on_first_paint` callbacks run once the points are on
    screen."""

    def __init__(self, state: ExplorerState, palette: np.ndarray | None = None) -> None:
        super().__init__()
        self._state = state
        self._palette = usable_palette(palette)  # None (grey points) when unusable
        self.point_count = 0
        self._first_paint_callbacks: list[Callable[[], None]] = []
        self.hint = QLabel(f"{LOADING_TEXT} The points below are the file's cached test latents.")
        self.hint.setStyleSheet("color: #9a9a9a;")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getViewBox().setMouseEnabled(False, False)
        self.legend = self.plot.addLegend(
            offset=(-10, 10), labelTextColor="#dddddd", brush=pg.mkBrush(30, 30, 30, 200)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hint)
        layout.addWidget(self.plot, 1)
        self._painted = False
        self.plot.viewport().installEventFilter(self)
        state.latentsChanged.connect(self.refresh)
        state.datasetChanged.connect(self.refresh)
        self.refresh()

    def on_first_paint(self, callback: Callable[[], None]) -> None:
        self._first_paint_callbacks.append(callback)

    def _on_first_paint(self) -> None:
        log_startup("first_paint", torch_loaded=int("torch" in sys.modules), points=self.point_count)
        callbacks, self._first_paint_callbacks = self._first_paint_callbacks, []
        for callback in callbacks:
            callback()

    def _colour(self, label: int) -> tuple[int, ...]:
        if self._palette is None:
            return GREY
        return tuple(int(c) for c in self._palette[label % len(self._palette)])

    def refresh(self) -> None:
        self.plot.clear()
        self.legend.clear()
        self.point_count = 0
        latents, test = self._state.latents, self._state.test_set
        if latents is None or test is None:
            self.hint.setText(f"{LOADING_TEXT} The scatter appears once the test set is encoded.")
            return
        x, y = self._state.dims
        mu = latents[0]
        labels = np.asarray(test.labels)
        for label, name in enumerate(test.classes):
            pick = labels == label
            if not pick.any():
                continue
            colour = self._colour(label)
            item = pg.ScatterPlotItem(
                mu[pick, x], mu[pick, y], size=POINT_SIZE, pen=None, brush=pg.mkBrush(*colour, 220), name=name
            )
            self.plot.addItem(item)
        self.point_count = len(mu)
        self.plot.autoRange()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.Paint and not self._painted and self.point_count:
            self._painted = True
            # Once this paint is done: the logged time is when the user sees the points.
            QTimer.singleShot(0, self._on_first_paint)
        elif kind == QEvent.Type.MouseButtonPress:
            self.say_loading()
        return False

    def say_loading(self) -> None:
        status = getattr(self.window(), "statusBar", None)
        if status is not None:
            status().showMessage(f"{LOADING_TEXT} (a moment: the views come alive when it is ready)", 4000)

"""Latent traversal: one slider per latent dimension, starting at the current z.

Moving a slider changes that one coordinate of the state's current z (so the crosshair
and the decoder preview follow) and the image here is decoded from it. Each slider spans
+-4 standard deviations of its dimension over the test set's means (at least +-3). "Grid" decodes the
traversal grid of the beta-VAE papers from the current z: one row per dimension, columns
from -3 to +3 standard deviations; "Export grid…" writes it as a PNG. While on, the grid
takes the decoded image's place (its centre column is that image) and the larger share of
the width, drawn as large as its room allows but its digits never below their own 28 px, its
rows named: what the dock does not hold scrolls (a 10-d model's grid squeezed into the short
dock drew each digit 8 px across).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qthrottled

from ...core.active_units import kl_per_dimension
from ...core.traversal import dimension_sigmas, traversal_grid, traversal_picture, traversal_values
from ..images import ImageCanvas
from ..latent_text import coordinate_text
from ..on_screen import RefreshWhenShown
from ..state import ExplorerState

MAX_DIMS = 32  # sliders (and grid rows) shown; larger latent spaces show the most informative
SLIDER_STEPS = 400  # positions per slider
SLIDER_SIGMAS = 4.0  # each slider spans +-this many standard deviations of the test means
PRIOR_REACH = 3.0  # ... and at least +-3 (the prior's 99.7 %)
GRID_VALUES = 9  # columns of the traversal grid, from -3 to +3 sigma
GRID_PAD = 2  # px between the grid's digits (in its picture)
# Stretch of the decoded image, the sliders and the grid across the panel, the grid off / on
# (on: no image; a narrow dock shows the grid alone).
STRETCH_OFF, STRETCH_ON = (2, 3, 3), (0, 2, 3)


class _RowLabels(QWidget):
    """The grid's row names ("z[3]"), each beside its row (the rows scroll with them)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.setFixedWidth(self.fontMetrics().horizontalAdvance("z[00]") + 6)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        if not self.names:
            return
        p = QPainter(self)
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        row = self.height() / len(self.names)
        align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for i, name in enumerate(self.names):
            p.drawText(QRectF(0, i * row, self.width() - 4, row), align, name)


class GridView(QScrollArea):
    """The traversal grid's picture, its rows named, as large as the view allows but never
    smaller than its own pixels (a digit 28 px across): a grid taller than the view scrolls."""

    def __init__(self, canvas: ImageCanvas) -> None:
        super().__init__()
        self.canvas = canvas
        self.row_labels = _RowLabels()
        self._picture: tuple[int, int] | None = None  # (height, width) of the shown picture
        self._inner = inner = QWidget()
        lay = QHBoxLayout(inner)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.row_labels)
        lay.addWidget(canvas)
        self.setWidget(inner)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QScrollArea.Shape.NoFrame)

    def set_picture(self, picture: np.ndarray, row_names: list[str]) -> None:
        self._picture = (int(picture.shape[0]), int(picture.shape[1]))
        self.row_labels.names = list(row_names)
        self.canvas.set_image(picture)
        self._fit()

    def scale(self) -> float:
        """Screen pixels per picture pixel: fitted to the view, at least 1."""
        if self._picture is None:
            return 1.0
        h, w = self._picture
        room = self.maximumViewportSize()  # (the view without scroll bars)
        return max(1.0, min((room.width() - self.row_labels.width()) / w, room.height() / h))

    def _fit(self) -> None:
        if self._picture is not None:
            h, w = self._picture
            s = self.scale()
            self.canvas.setFixedSize(int(w * s), int(h * s))
            self.row_labels.setFixedHeight(int(h * s))
            self.row_labels.update()
            self._inner.setFixedSize(self._inner.sizeHint())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override (the picture at its size, a bar)
        if self._picture is None:
            return super().sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(self._picture[1] + self.row_labels.width() + bar, self._picture[0])

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(72, 72)


class TraversalPanel(QWidget):
    """Sliders for z[0..d-1] at the current z, the decoded image, and the traversal grid."""

    exportRequested = Signal()  # "Export grid…": the window asks for a file

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.sliders: list[QSlider] = []
        self.shown_dims: list[int] = []  # the latent dimension of each slider (grid row)
        self._values: list[QLabel] = []
        self._centre = np.zeros(0)
        self._sigma = np.ones(0)
        self.grid: np.ndarray | None = None  # the last traversal grid [rows, cols, 28, 28]
        self._grid_dims: list[int] = []  # its rows' dimensions
        self.canvas = ImageCanvas(min_side=72)
        self.grid_canvas = ImageCanvas(min_side=28)
        self.grid_view = GridView(self.grid_canvas)
        self.grid_view.setVisible(False)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.grid_button = QPushButton("Grid")
        self.grid_button.setCheckable(True)
        self.grid_button.setToolTip(
            f"Traversal grid from the current z: one row per dimension, {GRID_VALUES} values "
            "from -3 to +3 standard deviations of that dimension over the test set. While on, "
            "it follows z (the sliders, a click in the scatter), the model and the timeline"
        )
        self.export_button = QPushButton("Export grid…")
        self.export_button.setToolTip(
            "Save the traversal grid as a PNG: one row per latent dimension, labelled (turn on Grid first)"
        )
        self.export_button.setEnabled(False)
        self._rows = QWidget()
        self._rows_layout = QGridLayout(self._rows)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setVerticalSpacing(1)
        self._slider_scroll = scroll = QScrollArea()
        scroll.setWidget(self._rows)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Side by side, for a short and wide dock under the scatter: the decoded image (or,
        # while on, the grid) and the sliders.
        self._top = top = QHBoxLayout()
        for widget, stretch in zip((self.canvas, scroll, self.grid_view), STRETCH_OFF, strict=True):
            top.addWidget(widget, stretch)
        buttons = QHBoxLayout()
        buttons.addWidget(self.grid_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.note)
        buttons.addStretch(1)
        self._lay = lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        lay.addLayout(top, 1)
        lay.addLayout(buttons)

        self.grid_button.toggled.connect(self._on_grid_toggled)
        # While the grid is on it is decoded anew at most once per event-loop pass (a drag).
        self._remake_grid_later = qthrottled(self.make_grid, timeout=0, leading=False, parent=self)
        self.export_button.clicked.connect(self.exportRequested)
        state.modelChanged.connect(self._on_model_changed)
        state.latentsChanged.connect(self._on_latents_changed)
        state.currentZChanged.connect(self._on_current_z_changed)
        # Behind another dock's tab its image is not decoded; the latest z is when it comes up.
        self._when_shown = RefreshWhenShown(self, self._decode_current_z)
        # A scrubbed epoch's weights, or a labelled model's style drawn as another digit.
        state.decoderChanged.connect(self._when_shown.request)
        self._on_model_changed()

    # --- for the window and tests ----------------------------------------------------------
    def slider_value(self, dim: int) -> float:
        """The latent value the slider of dimension ``dim`` stands for."""
        return self._value_of(dim, self.sliders[self.shown_dims.index(dim)].value())

    def set_slider_value(self, dim: int, value: float) -> None:
        """Move the slider of dimension ``dim`` to (the step nearest) latent value ``value``,
        as a drag does."""
        self.sliders[self.shown_dims.index(dim)].setValue(self._position_of(dim, value))

    def make_grid(self) -> np.ndarray | None:
        """Decode the traversal grid from the current z (by the weights on show: a scrubbed
        epoch's), show it (the Grid button on) and return it."""
        model, z = self._state.decoder_model, self._state.current_z
        if model is None or z is None or len(z) != self._state.latent_dim:
            return None
        with QSignalBlocker(self.grid_button):
            self.grid_button.setChecked(True)
        dims = list(self.shown_dims)
        latents = self._state.latents
        self.grid = traversal_grid(
            model, z, dims, traversal_values(GRID_VALUES), latents[0] if latents is not None else None
        )
        self._grid_dims = dims
        self.grid_view.set_picture(traversal_picture(self.grid, GRID_PAD), [f"z[{d}]" for d in dims])
        self._show_grid(True)
        self.export_button.setEnabled(True)
        return self.grid

    def export_grid(self, path: str | Path) -> Path:
        """Write the last grid (made now if there is none) as a PNG with row labels."""
        from ..figure_render import render_labelled_image

        grid = self.grid if self.grid is not None else self.make_grid()
        if grid is None:
            raise OSError("there is no model to decode a traversal grid from")
        labels = [f"z[{d}]" for d in self._grid_dims]
        return render_labelled_image(
            traversal_picture(grid), path, "Latent traversal: -3σ … +3σ per dimension", labels
        )

    # --- state -> view ---------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        full = self._state.latent_dim
        dims = self._dims_to_show(full)
        if dims != self.shown_dims:
            self._build_sliders(dims)
            self.grid = None  # (made anew for these dims when z arrives, if the grid is on)
            self._show_grid(False)
            self.export_button.setEnabled(False)
        self.note.setText(f"{MAX_DIMS} of {full} dims, largest KL first" if full > MAX_DIMS else "")
        self.note.setToolTip(
            f"The {MAX_DIMS} latent dimensions with the largest KL(q(z_i|x) || p(z_i)) over the "
            "test set, the most informative first; the others barely change the image"
        )
        self.note.setVisible(full > MAX_DIMS)
        self._on_latents_changed()

    def _dims_to_show(self, full: int) -> list[int]:
        """Every dimension in order; of a larger latent space the MAX_DIMS with the largest
        KL, the largest first (M1+M2's few active units of 50 at the top). Chosen when a
        model arrives, kept while a run's snapshots come (the sliders stay put)."""
        if full <= MAX_DIMS:
            return list(range(full))
        latents = self._state.latents
        if self._state.live and len(self.shown_dims) == MAX_DIMS and max(self.shown_dims) < full:
            return self.shown_dims
        if latents is None:
            return list(range(MAX_DIMS))
        return [int(d) for d in np.argsort(-kl_per_dimension(*latents), kind="stable")[:MAX_DIMS]]

    def _on_latents_changed(self) -> None:
        full = self._state.latent_dim
        latents = self._state.latents
        means = latents[0] if latents is not None and latents[0].shape[1] == full else None
        self._sigma = dimension_sigmas(means, full)
        self._centre = (
            means.mean(axis=0).astype(np.float64) if means is not None and len(means) else np.zeros(full)
        )
        self._on_current_z_changed()

    def _on_current_z_changed(self) -> None:
        z = self._state.current_z
        if z is None or len(z) != len(self._sigma):
            return
        for slider, value, d in zip(self.sliders, self._values, self.shown_dims, strict=True):
            with QSignalBlocker(slider):
                slider.setValue(self._position_of(d, float(z[d])))
            value.setText(coordinate_text(z[d]))
        self._when_shown.request()

    def _decode_current_z(self) -> None:
        z = self._state.current_z
        images = self._state.decode(z[None]) if z is not None else None
        self.canvas.set_image(images[0] if images is not None else None)
        if self.grid_button.isChecked():
            self._remake_grid_later()

    def _on_grid_toggled(self, on: bool) -> None:
        if on:
            self.make_grid()
            return
        self._remake_grid_later.cancel()
        self.grid = None
        self._show_grid(False)
        self.export_button.setEnabled(False)

    def _show_grid(self, on: bool) -> None:
        """Show or hide the grid. While shown it takes the decoded image's place (its centre
        column is that image) and the width the sliders leave; in a dock too narrow for
        both, the sliders' place too (off again, they are back)."""
        for index, stretch in enumerate(STRETCH_ON if on else STRETCH_OFF):
            self._top.setStretch(index, stretch)
        self.canvas.setVisible(not on)
        self.grid_view.setVisible(on)
        self._slider_scroll.setVisible(not on or self._room_for_sliders())

    def _room_for_sliders(self) -> bool:
        """Whether the panel is wide enough for the sliders and the whole grid's width."""
        bar = self._slider_scroll.verticalScrollBar().sizeHint().width()
        margins = self.contentsMargins() + self._lay.contentsMargins()
        sliders = self._rows.sizeHint().width() + bar + self._top.spacing()
        grid = self.grid_view.sizeHint().width()
        return self.width() - margins.left() - margins.right() >= sliders + grid

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.grid_view.isVisibleTo(self):
            self._slider_scroll.setVisible(self._room_for_sliders())

    def _build_sliders(self, dims: list[int]) -> None:
        while self._rows_layout.count():
            item = self._rows_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.sliders, self._values, self.shown_dims = [], [], list(dims)
        for row, d in enumerate(dims):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            slider.setToolTip(
                f"z[{d}]: ±{SLIDER_SIGMAS:g} standard deviations of the test set's means (≥ ±3)"
            )
            slider.valueChanged.connect(lambda value, d=d: self._on_slider_moved(d, value))
            value = QLabel("+0.00")
            value.setMinimumWidth(44)
            self._rows_layout.addWidget(QLabel(f"z[{d}]"), row, 0)
            self._rows_layout.addWidget(slider, row, 1)
            self._rows_layout.addWidget(value, row, 2)
            self.sliders.append(slider)
            self._values.append(value)

    # --- view -> state ---------------------------------------------------------------------
    def _on_slider_moved(self, dim: int, position: int) -> None:
        z = self._state.current_z
        if z is None:
            return
        z = z.copy()
        z[dim] = self._value_of(dim, position)
        self._state.set_current_z(z)

    def _span(self, dim: int) -> tuple[float, float]:
        """A slider's range: +-4 sigma of the test means, and at least the prior's +-3."""
        reach = SLIDER_SIGMAS * self._sigma[dim]
        c = self._centre[dim]
        return min(c - reach, -PRIOR_REACH), max(c + reach, PRIOR_REACH)

    def _value_of(self, dim: int, position: int) -> float:
        lo, hi = self._span(dim)
        return float(lo + (hi - lo) * position / SLIDER_STEPS)

    def _position_of(self, dim: int, value: float) -> int:
        lo, hi = self._span(dim)
        position = (value - lo) / (hi - lo) * SLIDER_STEPS
        return int(round(min(max(position, 0), SLIDER_STEPS)))

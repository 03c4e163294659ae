"""The latent scatter: the test set's latents coloured by class; click or drag to decode.

The view shows what the :class:`ExplorerState` holds (points from ``state.latents`` in
``state.dims``, the crosshair at ``state.current_z``, the canvas' posterior (both placed
on the state's plane: placing.py), the decoded grid overlay) and turns the user's input
into the state's setters: a press or drag sets the current z, a click on a point picks
that test image (on empty space it clears the pick), the combos set the shown dims, the
checkbox the overlay, the view range (debounced) the visible range; a right click opens
the context menu (context_menu.py) on the point under the cursor. It keeps no copy of the state.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced, qthrottled

from ...core.rendering import nearest_point
from ..own_turn import in_own_turn
from ..panels.flow_row import labelled
from ..state import ExplorerState
from .colour_by import ColourByControl
from .context_menu import ScatterContextMenu
from .grid_lines import GridLines
from .hint import ToolRow
from .hovering import Hovering
from .keys import ScatterKeys
from .markers import PosteriorMarker, make_crosshair
from .placing import MarkerPlacing
from .plot import LatentPlot
from .point_cloud import PointCloudItem
from .side_column import SideColumn

HOVER_RADIUS_PX = 6.0  # a point this close to the cursor (on screen) is hovered or picked
CLICK_SLOP_PX = 3  # a press and release this close are a click, not a drag
VIEW_FOLLOW_MS = 120  # the state's visible range follows zooming and panning after a pause
LIVE_OVERLAY_MS = 250  # while training, the overlay is decoded at most this often
MIN_PLOT_SIDE = 300  # pixels: the scatter stays usable in a 1024 x 700 window, docks beside it
TOP_MARGIN = 8  # pixels above the plot
LEFT_AXIS_WIDTH = 56  # pixels: the rotated axis title and tick labels such as "-12.5"
DIM_TIP = "Latent dimension shown on this axis (the others are held at 0)"
DIM_TIP_NARROW = "Latent dimension on this axis: a model with two shows both, nothing to choose"
DIM_TIP_PLANE = "Latent dimension on this axis: choose “Two axes” in the view menu beside to pick them"

Range = tuple[tuple[float, float], tuple[float, float]]


class LatentScatterView(QWidget):
    """The central view: latents, legend, crosshair, canvas posterior and grid overlay."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._build_plot()
        self.colour_by = ColourByControl(state, self.cloud, self.colour_bar, self)
        self.colour_by.marks.summaryChanged.connect(self._on_marks_summary)
        self._build_bar()
        self.context_menu = ScatterContextMenu(state, self)
        self.keys = ScatterKeys(self)
        self.context_menu.view_all.triggered.connect(self.reset_zoom)
        self.context_menu.opened.connect(self._on_context_menu_opened)
        self._press_pos: QPointF | None = None
        # A drag decodes the LATEST position once per event-loop pass (no stale backlog);
        # (hover moves are coalesced too: hovering.py); the visible range follows after a pause.
        self._decode_drag = qthrottled(self._decode_at, timeout=0, leading=False)
        self._publish_range_later = qdebounced(self._publish_range, timeout=VIEW_FOLLOW_MS)
        self._refresh_overlay_live = qthrottled(
            lambda: in_own_turn(self, self._refresh_overlay), timeout=LIVE_OVERLAY_MS
        )

        self.plot.pressed.connect(self._on_plot_pressed)
        self.plot.dragged.connect(self._on_plot_dragged)
        self.plot.released.connect(self._on_plot_released)
        self.plot.hovered.connect(self._on_plot_hovered)
        self.plot.left.connect(self._on_plot_left)
        self.vb.rightClicked.connect(self._on_plot_right_clicked)
        self.vb.sigRangeChanged.connect(self._on_view_range_changed)
        self.vb.sigTransformChanged.connect(self._on_view_transform_changed)
        self.legend.classToggled.connect(self._on_legend_class_toggled)
        for combo in (self.x_dim, self.y_dim):
            combo.currentIndexChanged.connect(self._on_dim_combo_changed)
        self.overlay_check.toggled.connect(self._on_overlay_check_toggled)

        state.datasetChanged.connect(self._on_dataset_changed)
        state.modelChanged.connect(self._on_model_changed)
        state.latentsChanged.connect(self._on_latents_changed)
        state.dimsChanged.connect(self._on_dims_changed)
        state.currentZChanged.connect(self.placing.place_crosshair)
        state.canvasPosteriorChanged.connect(self.placing.place_posterior)
        state.plane.changed.connect(self.placing.place_all)
        state.overlayChanged.connect(self._on_overlay_changed)
        state.trainingChanged.connect(self.cloud.set_sticky_bounds)
        state.gridChanged.connect(self._on_overlay_source_changed)
        state.visibleRangeChanged.connect(self._on_overlay_source_changed)
        state.decoderChanged.connect(self._on_overlay_source_changed)

        self._on_dataset_changed()
        self._on_model_changed()
        self.label_axes()  # from the start, not only once the dims change
        self._on_latents_changed()
        self.placing.place_all()
        self._on_overlay_changed(state.overlay)

    def _build_plot(self) -> None:
        self.plot = LatentPlot()
        pi = self.plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        # Moving the crosshair must not re-render the axes: both are cached as device
        # pixmaps (the point cloud keeps its own pixmap); the grid is its own cheap item.
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
            pi.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # A fixed width: sized to its tick labels, the axis grows and shrinks as the range
        # changes and the whole plot jumps sideways under the cursor.
        pi.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        # Room above the plot for half a tick label: one at the very top ("10") was cut.
        left, _top, right, bottom = pi.layout.getContentsMargins()
        pi.layout.setContentsMargins(left, TOP_MARGIN, right, bottom)
        self.vb = self.plot.vb
        self.vb.setAspectLocked(True)
        self.cloud = PointCloudItem()
        self.cloud.setZValue(5)
        self.vb.addItem(self.cloud)
        self.grid_lines = GridLines(pi.getAxis("bottom"), pi.getAxis("left"))
        self.grid_lines.setZValue(1)  # over the decoded overlay, under the points
        self.vb.addItem(self.grid_lines, ignoreBounds=True)
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(0)
        self.overlay.setOpacity(0.9)
        self.overlay.setVisible(False)
        self.vb.addItem(self.overlay, ignoreBounds=True)
        self.crosshair = make_crosshair()
        self.crosshair.setZValue(20)
        self.crosshair.setVisible(False)
        self.vb.addItem(self.crosshair, ignoreBounds=True)
        self.posterior_marker = PosteriorMarker()
        self.posterior_marker.setZValue(25)
        self.vb.addItem(self.posterior_marker, ignoreBounds=True)
        self.side = SideColumn()
        pi.layout.addItem(self.side, 2, 3)
        self.legend, self.colour_bar, self.marks_note = self.side.legend, self.side.colour_bar, self.side.note
        self.colour_bar.visibleChanged.connect(self._place_side_items)
        self.side.widthChanged.connect(lambda width: pi.layout.setColumnFixedWidth(3, width))
        self.plot.exclude = self.legend
        self.hovering = Hovering(self)
        self.hover = self.hovering.card
        self.placing = MarkerPlacing(self)

    def _build_bar(self) -> None:
        """The tool row wraps onto a second line in a narrow window (it never sets the
        window's minimum width); short labels, their full meaning in tooltips."""
        self.x_dim = QComboBox()
        self.y_dim = QComboBox()
        for combo in (self.x_dim, self.y_dim):
            # As wide as its longest item whenever the items change ("z[27]" of a 50-d
            # model), not only at the first show ("z[1]").
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.overlay_check = QCheckBox("Grid overlay")
        self.overlay_check.setToolTip(
            "Decoded grid overlay: tile decoded digits over the region of latent space they come from"
        )
        self.bar = bar = ToolRow(spacing=8)
        self.hint = bar.hint  # in the room the row's last line leaves: never wraps it
        bar.setContentsMargins(6, 4, 6, 0)
        bar.add(labelled("x:", self.x_dim))
        bar.add(labelled("y:", self.y_dim))
        bar.add(self.overlay_check)
        bar.add(labelled("Colour:", self.colour_by.combo, "Colour the points by"))
        bar.add(self.colour_by.progress)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(bar)
        lay.addWidget(self.plot, 1)
        self.plot.setMinimumSize(MIN_PLOT_SIDE, MIN_PLOT_SIDE)

    # --- for the window, the benchmark and tests -------------------------------------------
    def reset_zoom(self) -> None:
        """Fit the view to the shown points and follow them as they move (autorange)."""
        self.cloud.forget_bounds()
        self.vb.enableAutoRange()

    def visible_range(self) -> Range:
        """The data rectangle on screen: ((x0, x1), (y0, y1)) in the shown dims."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (x0, x1), (y0, y1)

    def crosshair_pos(self) -> tuple[float, float] | None:
        """Where the crosshair is (shown dims), or None while it is hidden."""
        if not self.crosshair.isVisible():
            return None
        return self.crosshair.pos().x(), self.crosshair.pos().y()

    def data_to_viewport(self, x: float, y: float) -> QPointF:
        """Widget coordinates of the plot's viewport for a point in the shown dims."""
        scene = self.vb.mapViewToScene(QPointF(x, y))
        return QPointF(self.plot.mapFromScene(scene))

    # --- state -> view ---------------------------------------------------------------------
    def _place_side_items(self) -> None:
        self.plot.getPlotItem().layout.setColumnFixedWidth(3, self.side.place())

    def _on_marks_summary(self, text: str) -> None:
        self.side.set_note(text)
        self._place_side_items()

    def _on_dataset_changed(self) -> None:
        test = self.state.test_set
        self.legend.set_classes(test.classes if test is not None else [])
        self._place_side_items()
        self.cloud.show_all_classes()
        self.hover.hide()
        self.reset_zoom()

    def _on_model_changed(self) -> None:
        self.label_axes()  # (a 1-d latent's axis: dims may not change with the model)
        if self._sync_dim_combos():
            self.reset_zoom()  # another latent dimension: a new space
        self._on_overlay_source_changed()

    def _on_latents_changed(self) -> None:
        self._refresh_points()
        # A model opened or made (not a training snapshot): show its whole space.
        if not (self.state.live or self.state.training):
            self.reset_zoom()

    def label_axes(self) -> None:
        """The axes' titles from the state's plane. A 1-d latent has no second axis: its
        points lie on y = 0, and ticks there (±0.006) would only mislead."""
        pi = self.plot.getPlotItem()
        for side, label in zip(("bottom", "left"), self.state.plane.axis_labels(), strict=True):
            if pi.getAxis(side).labelText != label:  # (a label re-renders its HTML: ~2 ms)
                pi.setLabel(side, label)
        left, one_d = pi.getAxis("left"), self.state.latent_dim == 1
        if left.style["showValues"] == one_d:
            left.setStyle(showValues=not one_d)

    def _on_dims_changed(self) -> None:
        self._sync_dim_combos()
        self.label_axes()
        self.cloud.forget_bounds()  # the new dims' points, not a step from the old ones'
        self._refresh_points()
        self.placing.place_all()
        self._on_overlay_source_changed()

    def _on_overlay_changed(self, on: bool) -> None:
        self.overlay_check.setChecked(on)
        if on:
            self._publish_range_later.flush()  # the overlay covers what is on screen now
        self._refresh_overlay()

    def _on_overlay_source_changed(self) -> None:
        if not self.state.overlay:
            return
        if self.state.live:  # snapshots arrive many times a second: decode at most every 250 ms
            self._refresh_overlay_live()
        else:
            self._refresh_overlay_live.cancel()
            self._refresh_overlay()

    def _sync_dim_combos(self) -> bool:
        """Offer dims 0..latent_dim-1 and select the state's; True if the count changed."""
        dim = self.state.latent_dim
        changed = self.x_dim.count() != dim
        for combo, value in zip((self.x_dim, self.y_dim), self.state.dims, strict=True):
            combo.blockSignals(True)
            if changed:
                combo.clear()
                combo.addItems([f"z[{i}]" for i in range(dim)])
            combo.setCurrentIndex(value)
            combo.blockSignals(False)
        self.enable_dim_combos()
        return changed

    def enable_dim_combos(self) -> None:
        """The dims are a choice on the two axes of a model with more than two; otherwise
        the combos are off and their tooltip says why."""
        wide, axes = self.state.latent_dim > 2, self.state.plane.is_axes
        tip = DIM_TIP if wide and axes else DIM_TIP_NARROW if not wide else DIM_TIP_PLANE
        for combo in (self.x_dim, self.y_dim):
            combo.setEnabled(wide and axes)
            combo.setToolTip(tip)

    def _refresh_points(self) -> None:
        test, latents = self.state.test_set, self.state.latents
        dim = self.state.latent_dim
        if test is None or latents is None or latents[0].shape != (len(test), dim):
            self.cloud.clear()
            self.hover.hide()
            return
        mu = latents[0]
        x, y = self.state.dims
        self.cloud.set_data(mu[:, x], mu[:, y] if dim > 1 else np.zeros(len(mu)), test.labels)
        self.hovering.follow()

    def _refresh_overlay(self) -> None:
        grid = self.state.decoded_grid("visible") if self.state.overlay else None
        if grid is None:
            self.overlay.setVisible(False)
            return
        # ImageItem row 0 is drawn at the rect's top (smallest y), so flip rows.
        self.overlay.setImage(np.ascontiguousarray(grid.mosaic[::-1]), levels=(0.0, 1.0))
        self.overlay.setRect(QRectF(*grid.extent))
        self.overlay.setVisible(True)

    # --- view -> state ---------------------------------------------------------------------
    def _on_plot_pressed(self, pos: QPointF) -> None:
        self.hovering.hide()
        self._press_pos = pos
        self._decode_drag.cancel()
        self._decode_at(pos)

    def _on_plot_dragged(self, pos: QPointF) -> None:
        self._decode_drag(pos)

    def _on_plot_released(self, pos: QPointF) -> None:
        self._decode_drag.flush(restart_timer=False)
        start, self._press_pos = self._press_pos, None
        if start is None:
            return
        a = self.data_to_viewport(start.x(), start.y())
        b = self.data_to_viewport(pos.x(), pos.y())
        if (a - b).manhattanLength() <= CLICK_SLOP_PX:
            i = self.point_near(start)
            self.state.set_picked_index(i if i >= 0 else None)

    def _on_plot_right_clicked(self, pos: QPointF, screen: QPointF) -> None:
        self.hovering.hide()
        i = self.point_near(pos) if self.state.test_set is not None else -1
        self.context_menu.open_at(i if i >= 0 else None, (pos.x(), pos.y()), screen.toPoint())

    def _on_context_menu_opened(self) -> None:
        self.hovering.menu_hint = ""

    def _decode_at(self, pos: QPointF) -> None:
        self.state.set_current_z_from_plane((pos.x(), pos.y()))

    def _on_dim_combo_changed(self) -> None:
        x, y = self.x_dim.currentIndex(), self.y_dim.currentIndex()
        if x >= 0 and y >= 0:
            self.state.set_dims(x, y)

    def _on_overlay_check_toggled(self, on: bool) -> None:
        self.state.set_overlay(on)

    def _on_view_range_changed(self) -> None:
        self._publish_range_later()

    def _publish_range(self) -> None:
        self.state.set_visible_range(*self.visible_range())

    def _on_view_transform_changed(self) -> None:
        self.hovering.follow()
        if self.posterior_marker.isVisible():  # its smallest drawn size is in pixels
            self.placing.place_posterior()

    def _on_legend_class_toggled(self, label: int, visible: bool) -> None:
        self.cloud.set_class_visible(label, visible)
        self.hovering.follow()

    # --- hover -----------------------------------------------------------------------------
    def _on_plot_hovered(self, pos: QPointF) -> None:
        self.hovering.request(pos)

    def _on_plot_left(self) -> None:
        self.hovering.hide()

    def point_near(self, pos: QPointF, radius_px: float = HOVER_RADIUS_PX) -> int:
        """The shown point within ``radius_px`` of ``pos`` on screen (the nearest), or -1."""
        x, y = self.cloud.points()
        if x.size == 0:
            return -1
        sx, sy = self.vb.viewPixelSize()
        i, dist = nearest_point(x, y, pos.x(), pos.y(), sx, sy, self.cloud.visible_mask())
        return i if dist <= radius_px else -1

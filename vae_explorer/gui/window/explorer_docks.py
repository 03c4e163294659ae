"""The window's docks for seeing a run and a latent space beyond the first look: the
history timeline, the walk between two digits, the traversal sliders, the active units.

:func:`fill_explorer_docks` builds the panels into the docks that MainWindow made at
start-up, wires what crosses views (the scrubbed epoch moves the scatter's points, marks
the curves and redraws the decoders; the walk's path is drawn on the scatter; the
scatter's right-click menu walks, traverses and copies to the canvas), and asks for the
files of the exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget

from ...core.files import show_path
from ..latent_text import salient_text
from ..panels.active_units import ActiveUnitsPanel
from ..panels.analogy import AnalogyPanel
from ..panels.timeline import TimelinePanel
from ..panels.traversal import TraversalPanel
from ..panels.walk import WalkEnd, WalkPanel
from ..scatter.projection import ScatterPlane
from . import file_dialogs
from .animation_export import AnimationExporter
from .docks import scrolled

if TYPE_CHECKING:
    from .main_window import MainWindow

WALK_COLOUR = "#f2f2f2"
WALK_PEN = pg.mkPen(WALK_COLOUR, width=2)
WALK_RIM = pg.mkPen("#111111", width=1)
EPOCH_PEN = pg.mkPen("#e15759", width=1.5)


def fill_explorer_docks(window: MainWindow) -> None:
    """Create the panels in their docks and wire them; once, after the views exist."""
    state = window.state
    window.timeline = TimelinePanel(state.scrub)
    window.walk = WalkPanel(state)
    window.traversal = TraversalPanel(state)
    window.active_units = ActiveUnitsPanel(state, state.scrub)
    window.timeline_dock.setWidget(window.timeline)
    window.walk_dock.setWidget(scrolled(window.walk))
    window.traversal_dock.setWidget(window.traversal)
    window.active_units_dock.setWidget(window.active_units)
    window.analogy = AnalogyPanel(state)
    window.analogy_dock.setWidget(window.analogy)
    window.animation_exporter = AnimationExporter(window)
    _wire_timeline(window)
    _wire_walk(window)
    _wire_context_menu(window)
    window.traversal.exportRequested.connect(lambda: _export_traversal(window))


# --- the timeline --------------------------------------------------------------------------
def _wire_timeline(window: MainWindow) -> None:
    state, scrub, scatter = window.state, window.state.scrub, window.scatter
    # The scatter's points follow the scrubbed epoch (and the plane): scatter/projection.py.
    window.scatter_plane = ScatterPlane(scatter, state)

    curves = window.training.curves
    plots = (curves.nats_plot, curves.kl_plot, curves.error_plot)  # (those shown draw it)
    lines = [pg.InfiniteLine(angle=90, pen=EPOCH_PEN, movable=False) for _ in plots]
    for plot, line in zip(plots, lines, strict=True):
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
    window.epoch_lines = lines

    def mark_epoch() -> None:
        for line in lines:
            line.setVisible(scrub.epoch is not None)
            if scrub.epoch is not None:
                line.setValue(scrub.epoch)

    scrub.epochChanged.connect(mark_epoch)
    scrub.weightsRefused.connect(lambda why: window.show_error("Training history", why))
    window.timeline.exportRequested.connect(lambda: _export_animation(window))
    exporter = window.animation_exporter
    exporter.progress.connect(window.timeline.show_progress)
    exporter.finished.connect(window.timeline.hide_progress)
    exporter.done.connect(lambda path: window.statusBar().showMessage(f"Exported {show_path(path)}", 8000))
    exporter.failed.connect(lambda message: window.show_error("Export animation", message))
    window.timeline.cancelRequested.connect(exporter.cancel)


def _export_animation(window: MainWindow) -> None:
    scrub, test = window.state.scrub, window.state.test_set
    history = scrub.history
    if history is None or test is None:
        from ..labelled import is_labelled  # (torch: not on the start-up path)

        if scrub.other_data is not None:
            why = (
                f"the history was recorded on the test images of {scrub.other_data}, not on those on show: "
                "show the dataset the model was trained on"
            )
        elif is_labelled(window.state.model):
            why = "a labelled model's run keeps no training history (animations are of a VAE's run)"
        else:
            why = "this model has no training history to animate"
        window.show_error("Export animation", why)
        return
    path = _ask_save(window, "Export animation", "training.gif", "Animated GIF (*.gif);;MP4 video (*.mp4)")
    if path is not None:
        window.animation_exporter.start(history, test.labels, path)


# --- the walk ------------------------------------------------------------------------------
def _wire_walk(window: MainWindow) -> None:
    state, walk, scatter = window.state, window.walk, window.scatter
    # Light on the dark plot, with a dark rim so it also reads over the points.
    path_item = pg.PlotDataItem(
        pen=WALK_PEN, symbol="o", symbolSize=6, symbolBrush=WALK_COLOUR, symbolPen=WALK_RIM
    )
    path_item.setZValue(15)
    scatter.vb.addItem(path_item, ignoreBounds=True)
    window.walk_path_item = path_item
    end_marks = [
        pg.TextItem(name, color=WALK_COLOUR, anchor=(0.5, 1.2), fill=pg.mkBrush(30, 30, 34, 200))
        for name in ("A", "B")
    ]
    for mark in end_marks:
        mark.setZValue(16)
        mark.setVisible(False)
        scatter.vb.addItem(mark, ignoreBounds=True)

    def draw_path() -> None:
        codes = walk.path("linear")
        if codes is not None and codes.shape[1] != state.latent_dim:
            codes = None  # another model's walk (the new dims come before the walk is cleared)
        xy = window.scatter_plane.plane_path(codes) if codes is not None else None
        for mark, row in zip(end_marks, (0, -1), strict=True):
            mark.setVisible(xy is not None)
            if xy is not None:
                mark.setPos(float(xy[row, 0]), float(xy[row, 1]))
        if xy is None:
            path_item.setData([], [])
            return
        path_item.setData(xy[:, 0], xy[:, 1])

    walk.pathChanged.connect(draw_path)
    state.dimsChanged.connect(draw_path)
    state.plane.changed.connect(draw_path)

    # Shift+click a second test point: walk from the picked one to it.
    picks: dict[str, int | None] = {"now": state.picked_index, "before": None}

    def on_pick() -> None:
        picks["before"], picks["now"] = picks["now"], state.picked_index

    def on_release(_pos: object) -> None:
        if not QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier:
            return
        a, b = picks["before"], state.picked_index
        start = walk.test_image_end(a) if a is not None else None
        end = walk.test_image_end(b) if b is not None else None
        if start is None or end is None or a == b:
            return
        walk.walk_between(start, end)
        window.walk_dock.show()
        window.walk_dock.raise_()

    state.pickedIndexChanged.connect(on_pick)
    scatter.plot.released.connect(on_release)
    walk.exportRequested.connect(lambda kind: _export_walk(window, kind))


# --- the scatter's right-click menu ----------------------------------------------------------
def _wire_context_menu(window: MainWindow) -> None:
    state, walk, menu = window.state, window.walk, window.scatter.context_menu

    def show(dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def walk_end(which: str, index: int) -> None:
        end = walk.test_image_end(index)
        if end is None:
            return
        # "Walk to" with no start yet walks from the picked test image, as Shift+click does.
        picked = state.picked_index
        start = walk.test_image_end(picked) if picked is not None and picked != index else None
        if which == "B" and walk.ends["A"] is None and start is not None:
            walk.walk_between(start, end)
        else:
            walk.set_walk_end(which, end)
        show(window.walk_dock)

    def walk_from_canvas(index: int) -> None:
        posterior, end = state.canvas_posterior, walk.test_image_end(index)
        if posterior is not None and end is not None:
            walk.walk_between(WalkEnd(posterior[0].copy(), "the canvas drawing"), end)
            show(window.walk_dock)

    def traverse(index: int) -> None:
        latents = state.shown_latents  # (where the point was clicked, scrubbed back or not)
        if latents is not None and 0 <= index < len(latents[0]):
            state.set_picked_index(index)
            state.set_current_z(latents[0][index])
            show(window.traversal_dock)

    def copy_to_canvas(index: int) -> None:
        window.canvas.load_test_digit(index)
        show(window.canvas_dock)

    def walk_here(which: str, code: np.ndarray) -> None:
        walk.set_end(which, code, f"a point of the plane {salient_text(code)}")
        show(window.walk_dock)

    menu.add_point_action(
        "walk_from",
        "Walk from this digit",
        "Start the walk (end A of the Walk tab) at this test image's posterior mean",
        lambda i: walk_end("A", i),
    )
    menu.add_point_action(
        "walk_to",
        "Walk to this digit",
        "End the walk (end B of the Walk tab) at this test image's posterior mean; with no "
        "start set, the walk starts at the picked test image",
        lambda i: walk_end("B", i),
    )
    menu.add_point_action(
        "walk_from_canvas",
        "Walk from the canvas drawing to this digit",
        "A walk from the canvas drawing's posterior mean to this test image's",
        walk_from_canvas,
        lambda: state.canvas_posterior is not None,
    )
    menu.add_point_action(
        "traverse",
        "Show in traversal",
        "Pick this test image and start the traversal sliders at its posterior mean",
        traverse,
    )
    menu.add_point_action(
        "copy_to_canvas",
        "Copy to canvas",
        "Put this test image on the canvas (to edit, mask and impute it)",
        copy_to_canvas,
    )
    menu.add_space_action(
        "walk_from_here",
        "Walk from here",
        "Start the walk (end A of the Walk tab) at the code of this point of the plane",
        lambda code: walk_here("A", code),
    )
    menu.add_space_action(
        "walk_to_here",
        "Walk to here",
        "End the walk (end B of the Walk tab) at the code of this point of the plane",
        lambda code: walk_here("B", code),
    )
    menus = getattr(window, "menus", None)
    if menus is not None:
        for action in (menus.export_png, menus.export_svg):
            menu.add_view_action(action)


def _export_walk(window: MainWindow, kind: str) -> None:
    if kind == "gif":
        path = _ask_save(window, "Export walk", "walk.gif", "Animated GIF (*.gif)")
        write = window.walk.export_gif
    else:
        path = _ask_save(window, "Export walk", "walk.png", "PNG image (*.png)")
        write = window.walk.export_png
    if path is not None:
        window.files._export(lambda: write(path), path)


def _export_traversal(window: MainWindow) -> None:
    path = _ask_save(window, "Export traversal grid", "traversal.png", "PNG image (*.png)")
    if path is not None:
        window.files._export(lambda: window.traversal.export_grid(path), path)


def _ask_save(window: MainWindow, title: str, name: str, filters: str) -> Path | None:
    """A file to export into, as File ▸ Export view asks: in the folder used last (they
    started in the home folder whatever Export view used), under the model's name
    ("small-walk.gif" for small.safetensors)."""
    menus = window.menus
    start = Path(menus.last_dir()) / f"{menus.suggested_stem()}-{name}"
    chosen = file_dialogs.save_file_name(window, title, str(start), filters)
    if not chosen:
        return None
    path = Path(chosen)
    if not path.suffix:
        path = path.with_suffix(Path(name).suffix)
    menus.remember_dir(str(path))
    return path

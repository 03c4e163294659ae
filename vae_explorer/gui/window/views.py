"""The window's half that needs torch: its views, the training controller, the menus.

:class:`MainWindow` builds its docks and status bar torch-free (so it can paint a
checkpoint's cached latents at once); :func:`build_views` then fills them, either at once
(``MainWindow(path)``) or when the start-up's background step has imported torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
import torch

from ..canvas import CanvasPanel
from ..cpu_threads import use_one_cpu_thread_in_this_thread
from ..panels import DecoderPreview, LatentGridPanel, SamplesPanel, TrainingPanel
from ..panels.posterior import PosteriorPanel
from ..scatter import LatentScatterView
from .actions import WindowMenus
from .docks import LayoutBoundary, scrolled
from .downloads import DatasetDownloader
from .status_bar import connect_run_status
from .training_controller import TrainingController

if TYPE_CHECKING:
    from .main_window import MainWindow


def build_views(window: MainWindow) -> None:
    """Create the views in the window's docks and wire them; call once, on the GUI thread."""
    # Decodes in this thread are tiny: one intra-op thread keeps them fast and leaves
    # the cores to the training worker's own thread team (see cpu_threads).
    if not use_one_cpu_thread_in_this_thread():
        torch.set_num_threads(1)
    state = window.state
    first_screen = window.takeCentralWidget()  # (a background start's first scatter)
    window.scatter = LatentScatterView(state)
    window.setCentralWidget(window.scatter)
    if first_screen is not None:
        # Deleted now, not later by Qt: Tab's order (focus_chain) linking a widget on its
        # way out corrupted the focus chain (the scatter's tool row lost its items; a crash).
        shiboken6.delete(first_screen)
    window.training = TrainingPanel(state)
    window.preview = DecoderPreview(state)
    window.grid = LatentGridPanel(state)
    window.samples = SamplesPanel(state)
    window.canvas = CanvasPanel(state)
    window.posterior = PosteriorPanel(state)
    scroll = scrolled(window.training)
    scroll.setMinimumWidth(330)
    window.training_dock.setWidget(scroll)
    window.preview_dock.setWidget(LayoutBoundary(window.preview))
    window.grid_dock.setWidget(window.grid)
    window.samples_dock.setWidget(window.samples)
    # The canvas's tool row is wide; scrolled, it no longer sets the whole right dock
    # area's minimum width (which pushed the window past a 1400-px screen).
    window.canvas_dock.setWidget(scrolled(window.canvas))
    window.posterior_dock.setWidget(window.posterior)
    window.trainer = TrainingController(state, window)
    window.downloader = DatasetDownloader(window)
    window.menus = WindowMenus(window)
    window.menus.fill_view_menu(window.docks)
    _connect(window)


def _connect(window: MainWindow) -> None:
    connect_run_status(window)
    window.training.datasetRequested.connect(window.choose_dataset)
    d = window.downloader
    d.finished.connect(window.datasets._on_download_finished)
    d.failed.connect(window.datasets._on_download_failed)

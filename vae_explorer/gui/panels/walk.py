"""Walk between two digits: a strip of images decoded along the path between two codes.

Each end is a code: the crosshair's, a test image's posterior mean (it follows the model
when the model changes), or the canvas drawing's. The strip follows the straight line;
for a latent space of more than two dimensions a second strip follows the great circle
(spherical interpolation). ``pathChanged`` tells the scatter to redraw the path.
Exports: the strips as a PNG, or the straight walk as a GIF (there and back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.interpolation import decode_path, latent_path, strip_picture
from ..images import ImageCanvas
from ..labels import ElidedLabel
from ..latent_text import vector_text
from ..on_screen import RefreshWhenShown
from ..state import ExplorerState

DEFAULT_STEPS = 10
STEPS_RANGE = (2, 60)
GIF_FPS = 8
MIN_STRIP_HEIGHT = 28  # pixels: one image at its own size
MAX_STRIP_HEIGHT = 160
STRIP_SPACING = 4
MARGIN = 4  # pixels above and below the panel's content


@dataclass(frozen=True)
class WalkEnd:
    """One end of a walk: a code, what it is, and the test image it belongs to (if any)."""

    z: np.ndarray
    label: str
    index: int | None = None


class WalkPanel(QWidget):
    """Ends A and B, the number of steps, and the decoded strips between them."""

    pathChanged = Signal()
    exportRequested = Signal(str)  # "png" or "gif": the window asks for a file

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.ends: dict[str, WalkEnd | None] = {"A": None, "B": None}
        self._decoded: dict[str, np.ndarray] = {}  # kind -> decoded images [n, 28, 28]
        # A training snapshot moves test-image ends; the strips follow when the tab is seen.
        self._when_shown = RefreshWhenShown(self, self._refresh)
        self.end_labels: dict[str, ElidedLabel] = {}
        self.set_buttons: dict[str, QToolButton] = {}
        # Laid out for a short, wide dock (a tab under the scatter): one row per end, one
        # for the options, then the strips, each as tall as its width allows.
        ends = QGridLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        ends.setHorizontalSpacing(4)
        ends.setVerticalSpacing(2)
        for row, which in enumerate(("A", "B")):
            label = ElidedLabel()
            label.setMinimumWidth(40)  # (never widening the panel)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.end_labels[which] = label
            ends.addWidget(QLabel(f"<b>{which}</b>"), row, 0)
            ends.addWidget(label, row, 1)
            # One small "Set" button per end (its menu: the sources), so the row fits a
            # narrow dock and the end's label keeps the room.
            button = QToolButton()
            button.setText("Set")
            button.setToolTip(
                f"Set end {which} to the crosshair, the picked test image or the canvas drawing"
            )
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(button)
            for text, source, tip in (
                ("Crosshair", self.end_from_crosshair, "the code under the crosshair"),
                ("Picked test image", self.end_from_picked, "the picked test image's posterior mean"),
                ("Canvas drawing", self.end_from_canvas, "the canvas drawing's posterior mean"),
            ):
                action = menu.addAction(text)
                action.setToolTip(f"Set end {which} to {tip}")
                action.triggered.connect(lambda _=False, w=which, f=source: f(w))
            menu.setToolTipsVisible(True)
            button.setMenu(menu)
            self.set_buttons[which] = button
            ends.addWidget(button, row, 2)
        ends.setColumnStretch(1, 1)
        self.steps = QSpinBox()
        self.steps.setRange(*STEPS_RANGE)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setToolTip("Images along the walk, both ends included")
        self.png_button = QPushButton("PNG…")
        self.png_button.setMinimumWidth(1)
        self.png_button.setToolTip("Export the strips as a PNG image, with their names")
        self.gif_button = QPushButton("GIF…")
        self.gif_button.setMinimumWidth(1)
        self.gif_button.setToolTip("Export the straight walk as an animated GIF, there and back")
        options = QHBoxLayout()
        options.addWidget(QLabel("Steps:"))
        options.addWidget(self.steps)
        options.addStretch(1)
        options.addWidget(self.png_button)
        options.addWidget(self.gif_button)
        self.linear_label = QLabel("straight")
        self.linear_label.setToolTip("Along the straight line between the two codes")
        self.linear_canvas = ImageCanvas(min_side=28)
        self.linear_canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.spherical_label = QLabel("great\ncircle")
        self.spherical_label.setToolTip(
            "Along the great circle (spherical interpolation): the path keeps the norm a "
            "Gaussian prior's codes have in many dimensions"
        )
        self.spherical_canvas = ImageCanvas(min_side=28)
        self.spherical_canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # The strips' box is hidden until there is a walk to show (_refresh): its empty
        # strips' room made the dock scroll at 1400 x 900.
        self._strip_box = QWidget()
        self._strip_box.setVisible(False)
        self._strips = strips = QGridLayout(self._strip_box)
        strips.setContentsMargins(0, 0, 0, 0)
        strips.setVerticalSpacing(STRIP_SPACING)
        for row, (name, canvas) in enumerate(
            ((self.linear_label, self.linear_canvas), (self.spherical_label, self.spherical_canvas))
        ):
            name.setStyleSheet("color: #9a9a9a;")
            strips.addWidget(name, row, 0)
            strips.addWidget(canvas, row, 1)
        strips.setColumnStretch(1, 1)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9a9a9a;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, MARGIN, 6, MARGIN)
        lay.setSpacing(4)
        lay.addLayout(ends)
        lay.addLayout(options)
        lay.addWidget(self.hint)
        lay.addWidget(self._strip_box)
        lay.addStretch(1)

        self.steps.valueChanged.connect(self._on_steps_changed)
        self.png_button.clicked.connect(lambda: self.exportRequested.emit("png"))
        self.gif_button.clicked.connect(lambda: self.exportRequested.emit("gif"))
        state.modelChanged.connect(self._on_model_changed)
        state.latentsChanged.connect(self._on_latents_changed)
        state.decoderChanged.connect(self._when_shown.request)  # scrubbed epoch, shown digit
        self._on_model_changed()

    # --- ends ------------------------------------------------------------------------------
    def set_end(self, which: str, z: np.ndarray | None, label: str = "", index: int | None = None) -> None:
        """Set end ``which`` ("A" or "B") to code ``z`` (None clears it)."""
        if z is not None:
            z = np.array(z, np.float32).reshape(-1)
            if len(z) != self._state.latent_dim or not np.isfinite(z).all():
                return
        self.ends[which] = None if z is None else WalkEnd(z, label, index)
        self._refresh()

    def set_walk_end(self, which: str, end: WalkEnd) -> None:
        """Set end ``which`` to ``end`` (e.g. a test image's, from :meth:`test_image_end`)."""
        self.ends[which] = end
        self._refresh()

    def walk_between(self, start: WalkEnd, end: WalkEnd) -> None:
        """Both ends at once (e.g. the picked test point and a Shift-clicked one)."""
        self.ends["A"], self.ends["B"] = start, end
        self._refresh()

    def test_image_end(self, index: int) -> WalkEnd | None:
        """The end at test image ``index``'s posterior mean, or None if there is none."""
        latents, test = self._state.latents, self._state.test_set
        if latents is None or test is None or not 0 <= index < len(latents[0]):
            return None
        label = int(test.labels[index])
        name = test.classes[label] if label < len(test.classes) else str(label)
        return WalkEnd(latents[0][index].copy(), f"test image #{index} ({name})", index)

    def end_from_crosshair(self, which: str) -> None:
        z = self._state.current_z
        if z is not None:
            self.set_end(
                which,
                z,
                f"crosshair {vector_text(z)}",
            )

    def end_from_picked(self, which: str) -> None:
        index = self._state.picked_index
        end = self.test_image_end(index) if index is not None else None
        if end is None:
            self._tell("Pick a test image on the scatter first (click a point).")
            return
        self.set_walk_end(which, end)

    def end_from_canvas(self, which: str) -> None:
        posterior = self._state.canvas_posterior
        if posterior is None:
            self._tell("Draw a digit on the Canvas first.")
            return
        self.set_end(which, posterior[0], "the canvas drawing")

    # --- the path --------------------------------------------------------------------------
    def path(self, kind: str = "linear") -> np.ndarray | None:
        """The codes [n, d] along the walk, or None without both ends."""
        a, b = self.ends["A"], self.ends["B"]
        if a is None or b is None:
            return None
        return latent_path(a.z, b.z, self.steps.value(), kind)

    def kinds(self) -> tuple[str, ...]:
        return ("linear", "spherical") if self._state.latent_dim > 2 else ("linear",)

    def export_png(self, path: str | Path) -> Path:
        """The strips (one row per path kind), with their names, as a PNG."""
        from ...core.latent import tile_images
        from ..figure_render import render_labelled_image

        if not self.strips:
            raise OSError("set both ends of the walk first")
        kinds = [k for k in self.kinds() if k in self.strips]
        n = self.strips[kinds[0]].shape[0]
        tiles = np.concatenate([self.strips[k] for k in kinds])
        picture = tile_images(tiles, len(kinds), n, pad=2)
        names = {"linear": "straight", "spherical": "great circle"}
        return render_labelled_image(picture, path, self._title(), [names[k] for k in kinds])

    def export_gif(self, path: str | Path) -> Path:
        """The straight walk as an animated GIF, there and back (written atomically)."""
        import imageio.v2 as imageio

        from ...core.files import atomic_path
        from ...core.image import to_uint8

        strip = self.strips.get("linear")
        if strip is None:
            raise OSError("set both ends of the walk first")
        enlarged = [np.kron(to_uint8(im), np.ones((4, 4), np.uint8)) for im in strip]
        path = Path(path)
        with atomic_path(path) as tmp:
            writer: Any = imageio.get_writer(tmp, format="GIF", mode="I", duration=1000 / GIF_FPS, loop=0)
            with writer:
                for frame in enlarged + enlarged[-2:0:-1]:
                    writer.append_data(frame)
        return path

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_strip_heights()

    def _fit_strip_heights(self) -> None:
        """Each strip as tall as its width allows (no empty band above and below it), and
        in a scrolled dock no taller than lets every strip show without scrolling."""
        canvases = [c for c in (self.linear_canvas, self.spherical_canvas) if c.isVisibleTo(self)]
        cap = MAX_STRIP_HEIGHT
        room = self._room_for_strips()
        if room is not None and canvases:
            cap = max(MIN_STRIP_HEIGHT, (room - STRIP_SPACING * (len(canvases) - 1)) // len(canvases))
        for canvas in (self.linear_canvas, self.spherical_canvas):
            image = canvas.image()
            if image is None:
                canvas.setFixedHeight(MIN_STRIP_HEIGHT)
                continue
            h, w = image.shape
            canvas.setFixedHeight(max(MIN_STRIP_HEIGHT, min(cap, round(canvas.width() * h / w))))

    def _room_for_strips(self) -> int | None:
        """Pixels from the strips' top to the bottom of the scroll area showing this panel
        (None outside one, or before it is laid out)."""
        viewport = self.parentWidget()
        if viewport is None or not isinstance(viewport.parentWidget(), QScrollArea):
            return None
        top = self._strip_box.geometry().top()
        room = viewport.height() - top - MARGIN
        return room if top > 0 and room > 0 else None

    # --- state -> view ---------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        dim = self._state.latent_dim
        for which, end in self.ends.items():
            if end is not None and len(end.z) != dim:
                self.ends[which] = None
        self._when_shown.request()
        if self._when_shown.pending:  # ends may be gone: the path on the scatter follows now
            self.pathChanged.emit()

    def _on_latents_changed(self) -> None:
        # A test image's end is its posterior mean under the model on show.
        for which, end in self.ends.items():
            if end is not None and end.index is not None:
                self.ends[which] = self.test_image_end(end.index)
        self._when_shown.request()
        if self._when_shown.pending:  # the strips wait for the tab; the path on the scatter does not
            self.pathChanged.emit()

    def _on_steps_changed(self) -> None:
        self._refresh()

    def _tell(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(True)

    def _title(self) -> str:
        a, b = self.ends["A"], self.ends["B"]
        return f"From {a.label} to {b.label}" if a is not None and b is not None else ""

    @property
    def strips(self) -> dict[str, np.ndarray]:
        """The decoded strips by kind, up to date (a refresh waiting for the tab runs now)."""
        if self._when_shown.pending:
            self._when_shown.cancel()
            self._refresh()
        return self._decoded

    def _refresh(self) -> None:
        self._when_shown.cancel()
        for which, end in self.ends.items():
            self.end_labels[which].setText(end.label if end is not None else "—")
        model = self._state.decoder_model
        a, b = self.ends["A"], self.ends["B"]
        self._decoded = {}
        if model is not None and a is not None and b is not None:
            n = self.steps.value()
            for kind in self.kinds():
                self._decoded[kind] = decode_path(model, a.z, b.z, n, kind).reshape(n, 28, 28)
            self.hint.setText(self._title())
        elif a is None and b is None:
            self.hint.setText(
                "Right-click a digit on the scatter and choose “Walk from this digit”, then "
                "another and “Walk to this digit”; or use the “Set” buttons."
            )
        elif a is None or b is None:
            self.hint.setText(
                f"End {'A' if a is not None else 'B'} is set: right-click another digit on the "
                f"scatter and choose “Walk {'to' if a is not None else 'from'} this digit”."
            )
        self.linear_canvas.set_image(
            strip_picture(self._decoded["linear"]) if "linear" in self._decoded else None
        )
        spherical = self._decoded.get("spherical")
        self.spherical_canvas.set_image(strip_picture(spherical) if spherical is not None else None)
        self._strip_box.setVisible(bool(self._decoded))
        self.spherical_canvas.setVisible(spherical is not None)
        self.png_button.setEnabled(bool(self._decoded))
        self.gif_button.setEnabled(bool(self._decoded))
        self.hint.setVisible(not self._decoded)  # with a strip, the ends' labels say it all
        named = self._state.latent_dim > 2 and bool(self._decoded)  # one strip needs no name
        self.linear_label.setVisible(named)
        self.spherical_label.setVisible(named)
        self._fit_strip_heights()
        self.pathChanged.emit()

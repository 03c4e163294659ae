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
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.interpolation import decode_path, latent_path, strip_picture
from ..images import ImageCanvas
from ..state import ExplorerState

DEFAULT_STEPS = 10
STEPS_RANGE = (2, 60)
GIF_FPS = 8


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
        self.strips: dict[str, np.ndarray] = {}  # kind -> decoded images [n, 28, 28]
        self.end_labels: dict[str, QLabel] = {}
        ends = QGridLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        ends.setHorizontalSpacing(4)
        for row, which in enumerate(("A", "B")):
            label = QLabel()
            label.setWordWrap(True)
            self.end_labels[which] = label
            ends.addWidget(QLabel(f"<b>{which}</b>"), 2 * row, 0)
            ends.addWidget(label, 2 * row, 1, 1, 3)
            for col, (text, source, tip) in enumerate(
                (
                    ("Crosshair", self.end_from_crosshair, "the code under the crosshair"),
                    ("Picked", self.end_from_picked, "the picked test image's posterior mean"),
                    ("Canvas", self.end_from_canvas, "the canvas drawing's posterior mean"),
                ),
                start=1,
            ):
                button = QPushButton(text)
                button.setToolTip(f"Set end {which} to {tip}")
                button.clicked.connect(lambda _=False, w=which, f=source: f(w))
                ends.addWidget(button, 2 * row + 1, col)
        self.steps = QSpinBox()
        self.steps.setRange(*STEPS_RANGE)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setToolTip("Images along the walk, both ends included")
        self.png_button = QPushButton("Export PNG…")
        self.gif_button = QPushButton("Export GIF…")
        options = QHBoxLayout()
        options.addWidget(QLabel("Steps:"))
        options.addWidget(self.steps)
        options.addStretch(1)
        exports = QHBoxLayout()
        exports.addWidget(self.png_button)
        exports.addWidget(self.gif_button)
        exports.addStretch(1)
        self.linear_label = QLabel("Straight line")
        self.linear_canvas = ImageCanvas(min_side=28)
        self.linear_canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.spherical_label = QLabel("Great circle (spherical)")
        self.spherical_canvas = ImageCanvas(min_side=28)
        self.spherical_canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(ends)
        lay.addLayout(options)
        lay.addWidget(self.hint)
        for w in (self.linear_label, self.linear_canvas, self.spherical_label, self.spherical_canvas):
            lay.addWidget(w)
        lay.addLayout(exports)
        lay.addStretch(1)

        self.steps.valueChanged.connect(self._on_steps_changed)
        self.png_button.clicked.connect(lambda: self.exportRequested.emit("png"))
        self.gif_button.clicked.connect(lambda: self.exportRequested.emit("gif"))
        state.modelChanged.connect(self._on_model_changed)
        state.latentsChanged.connect(self._on_latents_changed)
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
                "crosshair (" + ", ".join(f"{v:.2f}" for v in z[:3]) + ("…" if len(z) > 3 else "") + ")",
            )

    def end_from_picked(self, which: str) -> None:
        index = self._state.picked_index
        end = self.test_image_end(index) if index is not None else None
        if end is None:
            self.hint.setText("Pick a test image on the scatter first (click a point).")
            return
        self.set_walk_end(which, end)

    def end_from_canvas(self, which: str) -> None:
        posterior = self._state.canvas_posterior
        if posterior is None:
            self.hint.setText("Draw a digit on the Canvas first.")
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
        """Each strip as tall as its width allows (no empty band above and below it)."""
        for canvas in (self.linear_canvas, self.spherical_canvas):
            image = canvas.image()
            if image is None:
                canvas.setFixedHeight(28)
                continue
            h, w = image.shape
            canvas.setFixedHeight(max(28, min(160, round(canvas.width() * h / w))))

    # --- state -> view ---------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        dim = self._state.latent_dim
        for which, end in self.ends.items():
            if end is not None and len(end.z) != dim:
                self.ends[which] = None
        self.spherical_label.setVisible(dim > 2)
        self.spherical_canvas.setVisible(dim > 2)
        self._refresh()

    def _on_latents_changed(self) -> None:
        # A test image's end is its posterior mean under the model on show.
        for which, end in self.ends.items():
            if end is not None and end.index is not None:
                self.ends[which] = self.test_image_end(end.index)
        self._refresh()

    def _on_steps_changed(self) -> None:
        self._refresh()

    def _title(self) -> str:
        a, b = self.ends["A"], self.ends["B"]
        return f"From {a.label} to {b.label}" if a is not None and b is not None else ""

    def _refresh(self) -> None:
        for which, end in self.ends.items():
            self.end_labels[which].setText(end.label if end is not None else "—")
        model = self._state.model
        a, b = self.ends["A"], self.ends["B"]
        self.strips = {}
        if model is not None and a is not None and b is not None:
            n = self.steps.value()
            for kind in self.kinds():
                self.strips[kind] = decode_path(model, a.z, b.z, n, kind).reshape(n, 28, 28)
            self.hint.setText(self._title())
        elif a is None and b is None:
            self.hint.setText(
                "Right-click a digit on the scatter and choose “Walk from this digit”, then "
                "another and “Walk to this digit”; or set the ends with the buttons."
            )
        elif a is None or b is None:
            self.hint.setText(
                f"End {'A' if a is not None else 'B'} is set: right-click another digit on the "
                f"scatter and choose “Walk {'to' if a is not None else 'from'} this digit”."
            )
        self.linear_canvas.set_image(
            strip_picture(self.strips["linear"]) if "linear" in self.strips else None
        )
        spherical = self.strips.get("spherical")
        self.spherical_canvas.set_image(strip_picture(spherical) if spherical is not None else None)
        self.png_button.setEnabled(bool(self.strips))
        self.gif_button.setEnabled(bool(self.strips))
        self._fit_strip_heights()
        self.pathChanged.emit()

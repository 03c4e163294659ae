"""Walk between two digits: a strip of images decoded along the path between two codes.

Each end is a code: the crosshair's, a test image's posterior mean (it follows the model
when the model changes), or the canvas drawing's. The strip follows the straight line;
for a latent space of more than two dimensions a second strip follows the great circle
(spherical interpolation). A labelled model draws every frame as the digit the other
views show (the state's ``shown_class``): the caption says which.
``pathChanged`` tells the scatter to redraw the path.
Exports: the strips as a PNG, or the straight walk as a GIF (there and back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...core.interpolation import decode_path, latent_path
from ..labelled import class_names, is_labelled
from ..labels import ElidedLabel
from ..latent_text import salient_text
from ..on_screen import RefreshWhenShown
from ..state import ExplorerState
from .walk_export import write_strips_png, write_walk_gif
from .walk_strips import WalkStrips

DEFAULT_STEPS = 10
STEPS_RANGE = (2, 60)
SET_PADDING = 28  # pixels of a Set button beyond its text and menu arrow
WIDE_WIDTH = 480  # pixels: a panel this wide has the options beside the ends
MARGIN = 4  # pixels above and below the panel's content
PICK_FIRST = "Pick a test image on the scatter first (click a point)."
DRAW_FIRST = "Draw a digit on the Canvas first."


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
        self.set_buttons: dict[str, QPushButton] = {}
        # Laid out for a short, wide dock (a tab under the scatter): one row per end, the
        # options at their right (a row of their own left the strips no room at 1400 x 900),
        # then the strips, each as tall as its width (and the dock's height) allows.
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
            # narrow dock and the end's label keeps the room. A push button, as PNG and GIF:
            # it keeps room for its menu's arrow (a tool button's arrow sat on the "t").
            button = QPushButton("Set")
            button.setToolTip(
                f"Set end {which} to the crosshair, the picked test image or the canvas drawing"
            )
            indicator = self.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator)
            button.setFixedWidth(button.fontMetrics().horizontalAdvance("Set") + indicator + SET_PADDING)
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
        # The options: at the ends' right in a wide dock (1400 x 900's), in a row of their
        # own under them in a narrow one (1024 x 700's), where the ends' names need the width.
        self._options = QWidget()
        self._options_box = options = QBoxLayout(QBoxLayout.Direction.TopToBottom, self._options)
        options.setContentsMargins(0, 0, 0, 0)
        options.setSpacing(2)
        steps, exports = QHBoxLayout(), QHBoxLayout()
        steps.addWidget(QLabel("Steps:"))
        steps.addWidget(self.steps)
        exports.addWidget(self.png_button)
        exports.addWidget(self.gif_button)
        options.addLayout(steps)
        options.addStretch(1)
        options.addLayout(exports)
        options.setAlignment(steps, Qt.AlignmentFlag.AlignRight)
        self._ends = ends
        self._wide: bool | None = None  # (_arrange)
        # A labelled model draws every frame as the digit the other views show (the
        # decoder preview says "drawn as 7"): so does the caption over the strips.
        self.caption = ElidedLabel()
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setVisible(False)
        self._strip_box = WalkStrips()
        self.linear_label, self.linear_canvas = self._strip_box.linear_label, self._strip_box.linear_canvas
        self.spherical_label = self._strip_box.spherical_label
        self.spherical_canvas = self._strip_box.spherical_canvas
        self.hint = QLabel()
        self._told = ""  # a "… first" hint on show (_tell), until what it asks for is there
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9a9a9a;")
        self.caption.setStyleSheet("color: #9a9a9a;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, MARGIN, 6, MARGIN)
        lay.setSpacing(4)
        lay.addLayout(ends)
        lay.addWidget(self.hint)  # (the options go above it in a narrow dock: _arrange)
        lay.addWidget(self.caption)
        lay.addWidget(self._strip_box)
        lay.addStretch(1)

        self.steps.valueChanged.connect(self._on_steps_changed)
        self.png_button.clicked.connect(lambda: self.exportRequested.emit("png"))
        self.gif_button.clicked.connect(lambda: self.exportRequested.emit("gif"))
        state.modelChanged.connect(self._on_model_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        state.latentsChanged.connect(self._on_latents_changed)
        state.scrub.epochChanged.connect(self._on_latents_changed)  # test images' ends move with it
        state.decoderChanged.connect(self._when_shown.request)  # scrubbed epoch, shown digit
        state.pickedIndexChanged.connect(self._on_source_changed)
        state.canvasPosteriorChanged.connect(self._on_source_changed)
        self._arrange()
        self._on_model_changed()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """The options beside the ends (a wide panel) or under them (a narrow one)."""
        wide = self.width() >= WIDE_WIDTH
        if wide == self._wide:
            return
        self._wide = wide
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        self._ends.removeWidget(self._options)
        lay.removeWidget(self._options)
        if wide:
            self._options_box.setDirection(QBoxLayout.Direction.TopToBottom)
            self._ends.addWidget(self._options, 0, 3, 2, 1)
        else:
            self._options_box.setDirection(QBoxLayout.Direction.LeftToRight)
            lay.insertWidget(1, self._options)

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
        latents, test = self._state.shown_latents, self._state.test_set
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
                f"crosshair {salient_text(z)}",
            )

    def end_from_picked(self, which: str) -> None:
        index = self._state.picked_index
        end = self.test_image_end(index) if index is not None else None
        if end is None:
            self._tell(PICK_FIRST)
            return
        self.set_walk_end(which, end)

    def end_from_canvas(self, which: str) -> None:
        posterior = self._state.canvas_posterior
        if posterior is None:
            self._tell(DRAW_FIRST)
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
        if not self.strips:
            raise OSError("set both ends of the walk first")
        drawn_as = self._drawn_as()  # a labelled model's digit
        title = self._title() + (f", {drawn_as}" if drawn_as else "")
        return write_strips_png(self.strips, [k for k in self.kinds() if k in self.strips], title, path)

    def export_gif(self, path: str | Path) -> Path:
        """The straight walk as an animated GIF, there and back (written atomically)."""
        strip = self.strips.get("linear")
        if strip is None:
            raise OSError("set both ends of the walk first")
        return write_walk_gif(strip, path)

    # --- state -> view ---------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        dim = self._state.latent_dim
        for which, end in self.ends.items():
            if end is not None and len(end.z) != dim:
                self.ends[which] = None
        self._when_shown.request()
        if self._when_shown.pending:  # ends may be gone: the path on the scatter follows now
            self.pathChanged.emit()

    def _on_dataset_changed(self) -> None:
        # A test image's end goes with its data (the new data's image of that number is
        # another image: it took the end's place, relabelled, without a word).
        for which, end in self.ends.items():
            if end is not None and end.index is not None:
                self.ends[which] = None
        self._on_model_changed()

    def _on_latents_changed(self) -> None:
        # A test image's end is its posterior mean under the model on show (a scrubbed epoch's).
        for which, end in self.ends.items():
            if end is not None and end.index is not None:
                self.ends[which] = self.test_image_end(end.index)
        self._when_shown.request()
        if self._when_shown.pending:  # the strips wait for the tab; the path on the scatter does not
            self.pathChanged.emit()

    def _on_steps_changed(self) -> None:
        self._refresh()

    def _on_source_changed(self) -> None:
        # "Draw a digit on the Canvas first." stayed after the digit was drawn.
        ready = {PICK_FIRST: self._state.picked_index, DRAW_FIRST: self._state.canvas_posterior}
        if ready.get(self._told) is not None:
            self._show_hint()
            self._fit_strips()

    def _tell(self, text: str) -> None:
        self._told = text
        self.hint.setText(text)
        self.hint.setVisible(True)

    def _drawn_as(self) -> str:
        """ "drawn as 7" for a labelled model (its decoder draws a style z as that digit)."""
        if not is_labelled(self._state.decoder_model):
            return ""
        names = class_names(self._state.test_set)
        shown = self._state.shown_class
        return f"drawn as {names[shown] if 0 <= shown < len(names) else shown}"

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
        self._show_hint()
        self.png_button.setEnabled(bool(self._decoded))
        self.gif_button.setEnabled(bool(self._decoded))
        drawn_as = self._drawn_as() if self._decoded else ""
        self.caption.setText(f"Every frame {drawn_as} (the Latent grid's Digit)" if drawn_as else "")
        self.caption.setToolTip(
            "A labelled model decodes a style z together with a digit y: the walk moves the "
            "style and draws every frame as the digit the other views show (Latent grid's Digit)"
        )
        self.caption.setVisible(bool(drawn_as))
        named = self._state.latent_dim > 2  # one strip needs no name
        self._strip_box.show_strips(self._decoded.get("linear"), self._decoded.get("spherical"), named)
        self._fit_strips()
        self.pathChanged.emit()

    def _show_hint(self) -> None:
        """What to do next (set the ends), or the walk's title while there is no strip."""
        self._told = ""
        a, b = self.ends["A"], self.ends["B"]
        if self._decoded:
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
        self.hint.setVisible(not self._decoded)  # with a strip, the ends' labels say it all

    def _fit_strips(self) -> None:
        layout = self.layout()
        if layout is not None:
            layout.activate()  # (the strips' room: below the ends, hint and caption as now shown)
        self._strip_box.fit_heights()

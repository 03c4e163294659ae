"""Help ▸ Keyboard shortcuts and controls: every shortcut the window has, read from its
actions (so the page can never list a key that does not work), plus the mouse controls."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..scatter.keys import SHORTCUT_AREA

HEIGHT = 560
MIN_WIDTH = 560
AIR = 24  # pixels after the longest row's texts

MOUSE_CONTROLS = (
    ("Latent scatter", "Decode a point of latent space", "click / drag"),
    ("Latent scatter", "Input and reconstruction of a test image", "click a point"),
    ("Latent scatter", "Thumbnail of a test image", "hover a point"),
    ("Latent scatter", "Pan / zoom", "right-drag / wheel"),
    ("Latent scatter", "Hide or show a class", "click it in the legend, or 0-9 (scatter focused)"),
    ("Latent scatter", "Walk from the picked test image to another", "Shift+click a point"),
    (
        "Latent scatter",
        "Walk from / to a digit, show it in the traversal, copy it to the canvas",
        "right-click a point",
    ),
    ("Latent grid", "Decode a tile's z in the preview", "click a tile"),
    ("Training curves", "Zoom / pan (they then hold still)", "wheel / drag"),
    ("Training curves", "Follow the run again", "double-click, or Follow run"),
    ("Posterior", "The numbers behind a curve or a gap", "hover it"),
    ("Walk", "Choose where the walk starts or ends", "its Set buttons"),
    ("Timeline", "Play / pause the replay of training", "Space (timeline focused)"),
    ("Traversal", "Move one latent coordinate of the current z", "drag its slider"),
    ("Canvas", "Paint with the current tool", "left-drag"),
)


def _keys(action: QAction) -> str:
    return " / ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(area, what it does, keys) for every action of ``window`` that has a shortcut."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()

    def inside(name: str, parent: object) -> bool:
        panel = getattr(window, name, None)
        return (
            isinstance(panel, QWidget)
            and isinstance(parent, QWidget)
            and (parent is panel or panel.isAncestorOf(parent))
        )

    for action in window.findChildren(QAction):
        keys = _keys(action)
        text = action.text().replace("&", "").rstrip("…").strip()
        if not keys or not text or (text, keys) in seen:
            continue
        seen.add((text, keys))
        parent = action.parent()
        area = (
            "Canvas"
            if inside("canvas", parent)
            else (SHORTCUT_AREA if inside("scatter", parent) else "Window")
        )
        rows.append((area, text, keys))
    rows.sort(key=lambda r: (r[0] != "Window", r[0], r[1]))
    # Each area's keys, then its mouse controls (a stable sort keeps that order inside it).
    return sorted(rows + list(MOUSE_CONTROLS), key=lambda r: (r[0] != "Window", r[0]))


class ShortcutsDialog(QDialog):
    """A table of shortcuts and mouse controls."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts and controls")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "What", "Keys / mouse"])
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        # Where the window leaves too little width, a row wraps onto more lines (at a fixed
        # height its words ended in "…").
        self.table.setWordWrap(True)
        rows_header = self.table.verticalHeader()
        rows_header.setMinimumSectionSize(rows_header.defaultSectionSize())  # (as airy as before)
        rows_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        # Every row on one line (where the window is as wide), the rest to the "What" column.
        self.resize(min(self._one_line_width(), max(MIN_WIDTH, window.width())), HEIGHT)

    def _one_line_width(self) -> int:
        """The dialog's width with every row on one line."""
        table = self.table
        columns = sum(table.sizeHintForColumn(j) for j in range(table.columnCount()))
        scroll_bar = table.verticalScrollBar().sizeHint().width()
        layout = self.layout()
        assert layout is not None
        margins = layout.contentsMargins()
        frame = 2 * table.frameWidth() + margins.left() + margins.right()
        return columns + scroll_bar + frame + AIR

"""Help ▸ Keyboard shortcuts and controls: every row readable in full."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QWidget

from vae_explorer.gui.window.help import ShortcutsDialog

TEXT_MARGINS = 6  # pixels of a cell's width its text does not get (3 each side, Fusion)


def _needed_height(table, row: int, column: int) -> int:
    width = table.columnWidth(column) - TEXT_MARGINS
    text = table.item(row, column).text()
    return (
        table.fontMetrics().boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text).height()
    )


def test_every_description_fits_on_one_line_beside_the_window(window, qtbot):
    """At 560 pixels wide the "What" column ended its long rows in "…" ("Input and
    reconstruction of a …") while "Keys / mouse" had room to spare."""
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    t = dialog.table
    assert dialog.width() <= window.width()
    for column in (1, 2):
        for row in range(t.rowCount()):
            text = t.item(row, column).text()
            assert t.fontMetrics().horizontalAdvance(text) + TEXT_MARGINS <= t.columnWidth(column), text


def test_rows_wrap_where_the_window_is_narrow(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(400, 400)
    dialog = ShortcutsDialog(parent)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    t = dialog.table
    wrapped = 0
    for row in range(t.rowCount()):
        needed = _needed_height(t, row, 1)
        assert t.rowHeight(row) >= needed, t.item(row, 1).text()
        wrapped += needed > t.fontMetrics().height()
    assert wrapped  # (some row needed a second line)

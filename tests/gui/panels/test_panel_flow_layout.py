"""The wrapping tool-row layout: one row when wide, more rows when narrow, never wider
than its widest item."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from vae_explorer.gui.panels.flow_layout import FlowLayout


def test_items_wrap_to_the_width_and_a_stretched_item_fills_its_row(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=6)
    flow.setContentsMargins(0, 0, 0, 0)
    buttons = [flow.add(QPushButton(f"Button {i}")) for i in range(4)]
    tail = flow.add(QLabel("tail"), stretch=True)
    widest = max(b.sizeHint().width() for b in buttons)
    assert flow.minimumSize().width() == max(widest, tail.sizeHint().width())
    one_row = flow.sizeHint().width()
    host.resize(one_row + 40, 200)
    host.show()
    qtbot.waitExposed(host)
    centres = {w.geometry().center().y() for w in (*buttons, tail)}
    assert max(centres) - min(centres) <= 1  # one row, items centred on it
    assert tail.geometry().right() == host.width() - 1  # the stretched item takes the rest
    host.resize(widest + 10, 200)
    qtbot.waitUntil(lambda: host.width() == widest + 10)
    rows = sorted({w.geometry().top() for w in buttons})
    assert len(rows) == 4  # one button per row
    assert all(w.geometry().right() < host.width() for w in buttons)
    height = flow.heightForWidth(host.width())
    assert height >= 4 * buttons[0].sizeHint().height()
    assert flow.heightForWidth(one_row) < height

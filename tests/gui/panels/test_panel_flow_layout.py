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


def test_items_qt_deleted_behind_the_layouts_back_are_left_out(qtbot):
    """While a window is torn down Qt deletes a widget's children without telling their
    layout; a size query meanwhile raised 'Internal C++ object already deleted'."""
    import shiboken6

    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=6)
    flow.setContentsMargins(0, 0, 0, 0)
    buttons = [flow.add(QPushButton(f"Button {i}")) for i in range(3)]
    shiboken6.delete(flow.itemAt(0))  # the item goes, as Qt's teardown deletes it
    assert flow.count() == 2 and [flow.itemAt(i).widget() for i in range(2)] == buttons[1:]
    assert flow.minimumSize().width() == max(b.sizeHint().width() for b in buttons[1:])
    assert flow.heightForWidth(10) > 0 and flow.sizeHint().width() > 0

"""The wrapping tool row: one line when wide, more lines when narrow, never wider than its
widest widget; and it holds nothing Qt can delete behind its back."""

from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from vae_explorer.gui.panels.flow_row import FlowRow


def _host(qtbot) -> tuple[QWidget, FlowRow]:
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    lay.setContentsMargins(0, 0, 0, 0)
    flow = FlowRow(spacing=6)
    flow.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(flow)
    lay.addStretch()
    return host, flow


def test_widgets_wrap_to_the_width_and_a_stretched_one_fills_its_line(qtbot):
    host, flow = _host(qtbot)
    buttons = [flow.add(QPushButton(f"Button {i}")) for i in range(4)]
    tail = flow.add(QLabel("tail"), stretch=True)
    widest = max(b.sizeHint().width() for b in buttons)
    assert flow.minimumSizeHint().width() == max(widest, tail.minimumSizeHint().width())
    one_line = flow.sizeHint().width()
    host.resize(one_line + 40, 200)
    host.show()
    qtbot.waitExposed(host)
    centres = {w.geometry().center().y() for w in (*buttons, tail)}
    assert max(centres) - min(centres) <= 1  # one line, widgets centred on it
    assert tail.geometry().right() == flow.width() - 1  # the stretched widget takes the rest
    host.resize(widest + 10, 200)
    qtbot.waitUntil(lambda: flow.width() == widest + 10)
    tops = sorted({w.geometry().top() for w in buttons})
    assert len(tops) == 4  # one button per line
    assert all(w.geometry().right() < flow.width() for w in buttons)
    height = flow.heightForWidth(flow.width())
    assert height >= 4 * buttons[0].sizeHint().height()
    assert flow.height() >= height  # the host's layout gave the row the height it asked for
    assert flow.heightForWidth(one_line) < height


def test_a_widget_shown_or_hidden_later_moves_the_others(qtbot):
    host, flow = _host(qtbot)
    first = flow.add(QPushButton("first"))
    second = flow.add(QPushButton("second"))
    late = QPushButton("hidden before it was added")
    late.setVisible(False)
    flow.add(late)
    host.resize(600, 100)
    host.show()
    qtbot.waitExposed(host)
    assert late.isHidden()  # a widget hidden before it was added stays hidden
    left = second.geometry().left()
    first.setVisible(False)
    qtbot.waitUntil(lambda: second.geometry().left() < left)
    first.setVisible(True)
    qtbot.waitUntil(lambda: second.geometry().left() == left)


def test_a_deleted_widget_leaves_the_row_and_nothing_else_goes(qtbot):
    """A Python QLayout keeps wrappers of Qt's QLayoutItems, which shiboken cannot follow:
    the window lost its status bar and the scatter's pickers that way. The row keeps only
    widgets; one deleted leaves it, the others stay."""
    host, flow = _host(qtbot)
    buttons = [flow.add(QPushButton(f"Button {i}")) for i in range(3)]
    host.show()
    shiboken6.delete(buttons[0])
    gc.collect()
    QApplication.processEvents()
    assert flow.widgets() == buttons[1:]
    assert flow.minimumSizeHint().width() == max(b.sizeHint().width() for b in buttons[1:])
    assert flow.heightForWidth(10) > 0 and flow.sizeHint().width() > 0


class _LayoutRequests(QObject):
    def __init__(self, watched: QWidget) -> None:
        super().__init__()
        self.count = 0
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


def test_a_child_of_the_same_size_does_not_relayout_the_parent_but_a_grown_one_does(qtbot):
    host, flow = _host(qtbot)
    label = flow.add(QLabel("x = 1.00"))
    label.setFixedWidth(120)  # texts of one width, as a coordinate readout's
    host.resize(400, 200)
    host.show()
    qtbot.waitExposed(host)
    _settle()
    requests = _LayoutRequests(host)
    for value in range(5):
        label.setText(f"x = {value}.50")
        _settle()
    assert requests.count == 0
    label.setFixedWidth(300)
    _settle()
    assert requests.count >= 1
    assert label.width() == 300


def _settle() -> None:
    # An event posted while posted events are delivered waits for the next pass: a child's
    # request reaches the row in one, the row's request reaches its parent in the next.
    for _ in range(3):
        QApplication.processEvents()

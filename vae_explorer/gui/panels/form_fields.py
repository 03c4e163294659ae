"""Form fields that take any typed value without losing a keystroke: spin boxes that let an
out-of-range number be typed (and say so when the edit ends), and checked numbers from files
the user may have edited (a remembered form, an opened model's config)."""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)


def checked_number(spin: QSpinBox | QDoubleSpinBox, value: object, clamp: bool) -> int | float | None:
    """``value`` as a number ``spin`` can take, or None when it cannot: not a number (or a
    bool), NaN or infinite, a fraction for an integer field, or out of the field's range
    (unless ``clamp``, which pulls a finite number into the range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    integer = isinstance(spin, QSpinBox)
    if integer and isinstance(value, float) and not value.is_integer():
        return None
    lo, hi = spin.minimum(), spin.maximum()
    if not lo <= value <= hi:  # exact for huge ints too: no float conversion before this
        if not clamp:
            return None
        value = lo if value < lo else hi
    return int(value) if integer else float(value)


def set_number(spin: QSpinBox | QDoubleSpinBox, number: int | float | None) -> None:
    if number is None:
        return
    if isinstance(spin, QSpinBox):
        spin.setValue(int(number))
    else:
        spin.setValue(float(number))


def _lenient(state: QValidator.State, text: str) -> QValidator.State:
    """Let a number outside the range be typed (Intermediate, corrected when the edit ends,
    with a note) instead of swallowing the keystroke without a word."""
    if state != QValidator.State.Invalid:
        return state
    try:
        float(text.replace(",", "").strip())
    except ValueError:
        return state
    return QValidator.State.Intermediate


class SpinBox(QSpinBox):
    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:  # Qt override
        state, text, pos = super().validate(text, pos)
        return _lenient(state, text), text, pos


class DoubleSpinBox(QDoubleSpinBox):
    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:  # Qt override
        state, text, pos = super().validate(text, pos)
        return _lenient(state, text), text, pos


def number_text(spin: QSpinBox | QDoubleSpinBox, value: float) -> str:
    return f"{int(value):,}" if isinstance(spin, QSpinBox) else f"{value:g}"


def int_spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    s = SpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    s.setGroupSeparatorShown(True)
    return s


def float_spin(lo: float, hi: float, value: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    s = DoubleSpinBox()
    s.setDecimals(decimals)
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def combo(choices: list[tuple[str, str]], tip: str | None) -> QComboBox:
    c = QComboBox()
    for text, value in choices:
        c.addItem(text, value)
    if tip:
        c.setToolTip(tip)
    return c


def select(combo: QComboBox, value: object) -> None:
    """Select the item whose data is ``value``; nothing happens for an unknown value."""
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)


def one_row(*fields: tuple[QWidget, int]) -> QWidget:
    """Several fields on one form row: (widget, stretch) each, tightly spaced."""
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    for widget, stretch in fields:
        lay.addWidget(widget, stretch)
    return row


def first_tooltip(widget: QWidget | None) -> str:
    """``widget``'s tooltip, or its first child's with one (a row of several fields)."""
    if widget is None:
        return ""
    if widget.toolTip():
        return widget.toolTip()
    return next((w.toolTip() for w in widget.findChildren(QWidget) if w.toolTip()), "")


class RangeNote:
    """A number typed outside its field's range is pulled into it and ``note`` says so (a
    spin box alone would quietly keep its old value); each field's tooltip names its range.
    ``spins``: the fields by the name the note gives them."""

    def __init__(self, note: QLabel, spins: dict[str, QSpinBox | QDoubleSpinBox]) -> None:
        self.note = note
        self._typed: dict[str, str] = {}
        for name, spin in spins.items():
            spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
            spin.setToolTip(f"{spin.toolTip()}<br>Allowed: {number_text(spin, spin.minimum())} – "
                            f"{number_text(spin, spin.maximum())}")  # fmt: skip
            spin.lineEdit().textEdited.connect(lambda text, n=name: self._typed.__setitem__(n, text))
            spin.editingFinished.connect(lambda n=name, s=spin: self._on_edited(n, s))

    def _on_edited(self, name: str, spin: QSpinBox | QDoubleSpinBox) -> None:
        typed = self._typed.pop(name, None)
        if typed is None:
            return
        try:
            number = float(typed.replace(spin.locale().groupSeparator(), "").replace(",", ".").strip())
        except ValueError:
            return
        lo, hi = spin.minimum(), spin.maximum()
        if lo <= number <= hi:
            self.note.setVisible(False)
            return
        bound, word = (lo, "smallest") if number < lo else (hi, "largest")
        set_number(spin, bound)
        self.note.setText(
            f"{name}: {typed} is outside the allowed range {number_text(spin, lo)} – "
            f"{number_text(spin, hi)}; the {word} allowed value, {number_text(spin, bound)}, is used."
        )
        self.note.setVisible(True)

"""Long tooltips wrap: Qt draws a plain-text tooltip on one line, however long (some ran
the width of a 1400-px screen); rich text wraps at a readable width."""

from __future__ import annotations

import html
import re

from PySide6.QtWidgets import QWidget

ONE_LINE_CHARS = 70  # longer plain tooltips are wrapped


def is_rich(text: str) -> bool:
    """Rich text as Qt takes it for a tooltip (it holds a tag; Qt wraps it)."""
    return re.search(r"<[a-zA-Z][^<>]*>", text) is not None


def wrapped(text: str) -> str:
    """``text`` as a tooltip Qt wraps (rich text); short or rich text is left as it is."""
    if len(text) <= ONE_LINE_CHARS or is_rich(text):
        return text
    return "<p>" + html.escape(text).replace("\n", "<br>") + "</p>"


def wrap_long_tooltips(root: QWidget) -> int:
    """Make every long plain tooltip under ``root`` (itself included) wrap; how many."""
    changed = 0
    for widget in (root, *root.findChildren(QWidget)):
        text = widget.toolTip()
        new = wrapped(text)
        if new != text:
            widget.setToolTip(new)
            changed += 1
    return changed

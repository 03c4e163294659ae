"""What the window remembers between sessions (QSettings), every value validated.

A settings file can be old, hand-edited or damaged: a value of the wrong type or out of
range is dropped with a log line, never passed on to a widget (where an infinite width or
an int beyond 32 bits would raise inside a slot and abort the app at every start).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QSize

from ...core.data import OWN_IMAGES, usable_dataset_key
from ..state import GRID_SIZE_RANGE, GRID_SPACINGS

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)
MAX_STATE_BYTES = 1 << 20
LAST_MODEL = "paths/last_model"  # the model file last opened or saved
WINDOW_FRAME = 32  # a window manager's title bar and border take this much of the height


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    return None


def _int_in(value: Any, lo: int, hi: int) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number != int(number) or not lo <= number <= hi:
        return None
    return int(number)


def _bytes(value: Any) -> QByteArray | None:
    if isinstance(value, QByteArray) and 0 < value.size() <= MAX_STATE_BYTES:
        return value
    return None


def _dropped(settings: QSettings, key: str, value: Any) -> None:
    log.warning("settings %s: ignoring %s = %.80r", settings.fileName(), key, value)


def fit_to_screen(window: MainWindow) -> None:
    """Keep the window on the screen it opens on: a layout saved on a larger screen (or a
    second monitor since unplugged) must not open partly out of view."""
    screen = window.screen()
    if screen is None:
        return
    area = screen.availableGeometry()
    width, height = min(window.width(), area.width()), min(window.height(), area.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(window.x(), area.left()), area.right() - width + 1)
    y = min(max(window.y(), area.top()), area.bottom() - height + 1)
    if (x, y) != (window.x(), window.y()):
        window.move(x, y)


def keep_layout_on_screen(window: MainWindow, available: QSize | None = None) -> bool:
    """A saved dock layout whose docks need more room than the screen has (``available``,
    default the window's screen less a frame) is replaced by the default one: a window
    taller than the screen hides its status bar and bottom docks. True if it was replaced."""
    if available is None:
        screen = window.screen()
        if screen is None:
            return False
        area = screen.availableGeometry().size()
        available = QSize(area.width(), area.height() - WINDOW_FRAME)

    def fits(size: QSize) -> bool:
        return size.width() <= available.width() and size.height() <= available.height()

    need = window.minimumSizeHint()
    if fits(need):
        return False
    saved = window.saveState()
    window.reset_layout()
    smaller = window.minimumSizeHint()
    if not fits(smaller) and smaller.height() >= need.height() and smaller.width() >= need.width():
        window.restoreState(saved)  # the default needs as much: keep the user's
        return False
    window.statusBar().showMessage(
        "The saved dock layout did not fit this screen: the default layout is back "
        "(View > Reset layout does this at any time)",
        15_000,
    )
    log.info("dock layout needs %s, screen offers %s: default layout", need.toTuple(), available.toTuple())
    fit_to_screen(window)
    return True


def restore(window: MainWindow, settings: QSettings) -> None:
    """Apply the remembered geometry, layout, dataset, grid, overlay and training form."""

    def read(key: str, parse: Any, *args: Any) -> Any:
        raw = settings.value(key)
        if raw is None:
            return None
        value = parse(raw, *args)
        if value is None:
            _dropped(settings, key, raw)
        return value

    geometry = read("window/geometry", _bytes)
    if geometry is None or not window.restoreGeometry(geometry):
        window.resize(1400, 900)
    layout = read("window/state", _bytes)
    if layout is not None and not window.restoreState(layout):
        _dropped(settings, "window/state", layout)
    window.after_layout_change()
    key = settings.value("dataset")
    if usable_dataset_key(key):  # never raises: an unreadable folder (EACCES, ...) is dropped
        window.dataset_key_at_start = key
    elif key is not None:
        _dropped(settings, "dataset", key)
    state = window.state
    size = read("grid/size", _int_in, *GRID_SIZE_RANGE)
    spacing = settings.value("grid/spacing")
    if spacing is not None and spacing not in GRID_SPACINGS:
        _dropped(settings, "grid/spacing", spacing)
        spacing = None
    state.set_grid(size=size, spacing=spacing)
    overlay = read("view/overlay", _bool)
    if overlay is not None:
        state.set_overlay(overlay)
    smooth = read("train/smooth", _bool)
    if smooth is not None:
        window.training.smooth_check.setChecked(smooth)
    shown = read("train/settings_shown", _bool)
    if shown is not None:
        window.training.set_settings_shown(shown)
    form = settings.value("train/form")
    if isinstance(form, str) and len(form) < MAX_STATE_BYTES:
        try:
            values = json.loads(form)
        except ValueError:
            values = None
        if isinstance(values, dict):
            window.training.restore_form_state(values)
        else:
            _dropped(settings, "train/form", form)


def remembered_model(settings: QSettings) -> Path | None:
    """The model file the last session opened or saved, while it is a readable file; a
    value that is not one (moved, deleted, not a path) is dropped with a log line."""
    value = settings.value(LAST_MODEL)
    if value is None:
        return None
    try:
        path = Path(value) if isinstance(value, str) and value else None
        readable = path is not None and path.is_file() and os.access(path, os.R_OK)
    except (OSError, ValueError):  # (a name too long, a NUL byte)
        path, readable = None, False
    if not readable:
        _dropped(settings, LAST_MODEL, value)
        settings.remove(LAST_MODEL)
        return None
    return path


def remember_model(settings: QSettings, path: Path | None) -> None:
    """``path`` is the model to open at the next start (None: forget the one remembered)."""
    if path is None:
        settings.remove(LAST_MODEL)
    else:
        settings.setValue(LAST_MODEL, str(path))


def remembered_dataset(window: MainWindow) -> bool:
    """Whether closing remembers the dataset on show: not in an explore() session (the
    user's own images, or their own model), which must leave the remembered one alone."""
    state = window.state
    return state.dataset_key != OWN_IMAGES and not state.model_meta.get("external")


def save(window: MainWindow, settings: QSettings) -> None:
    state = window.state
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    if remembered_dataset(window):
        settings.setValue("dataset", state.dataset_key)
    settings.setValue("grid/size", state.grid_size)
    settings.setValue("grid/spacing", state.grid_spacing)
    settings.setValue("view/overlay", state.overlay)
    settings.setValue("train/smooth", window.training.smooth_check.isChecked())
    settings.setValue("train/form", json.dumps(window.training.form_state()))
    settings.setValue("train/settings_shown", window.training.settings_shown())
    settings.sync()

"""One dark look for Qt widgets and pyqtgraph plots, and the app's QSettings."""

from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSettings, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory, QStyleOption, QWidget

PLOT_BACKGROUND = "#1b1b1e"
PLOT_FOREGROUND = "#c8c8c8"
ORGANIZATION = "vae-explorer"
APPLICATION = "VAE Explorer"
SETTINGS_ENV = "VAE_EXPLORER_SETTINGS"  # a .ini path: tests and portable installs


def configure_pyqtgraph() -> None:
    """Plot colours; call before creating plots."""
    pg.setConfigOptions(background=PLOT_BACKGROUND, foreground=PLOT_FOREGROUND, antialias=False)


def app_settings() -> QSettings:
    """The user's settings, or the .ini file named by $VAE_EXPLORER_SETTINGS."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


class _CompactTabs(QProxyStyle):
    """Fusion with dock tabs 10 px narrower: at 1024 px wide the window's two tab groups
    (four and five docks) then show every title whole instead of scrolling. A toggle button
    that is on (Grid, Play, a mask preset) is drawn in the highlight's colour: Fusion's dark
    "pressed" shade could not be told from a button that is off. The keyboard's focus is a
    2-px ring in a light blue: Fusion's 1-px one, blue on dark grey, could barely be seen on
    a button, a tab or a slider."""

    def drawPrimitive(  # noqa: N802 - Qt override
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        on = bool(option.state & QStyle.StateFlag.State_On)
        panels = (QStyle.PrimitiveElement.PE_PanelButtonCommand, QStyle.PrimitiveElement.PE_PanelButtonTool)
        if on and element in panels:
            option = type(option)(option)  # (a copy: the caller goes on drawing with its own)
            palette = QPalette(option.palette)
            palette.setColor(QPalette.ColorRole.Button, CHECKED_BUTTON)
            option.palette = palette
        if element == QStyle.PrimitiveElement.PE_FrameFocusRect:
            _focus_ring(painter, QRectF(option.rect))
            return
        super().drawPrimitive(element, option, painter, widget)
        keyboard = QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange
        if element in panels and option.state & keyboard == keyboard:
            _focus_ring(painter, QRectF(option.rect).adjusted(1, 1, -1, -1))

    def drawControl(  # noqa: N802 - Qt override
        self,
        element: QStyle.ControlElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawControl(element, option, painter, widget)
        # A dock tab bar with the keyboard's focus showed no sign of it (Fusion draws none on
        # a tab): the current tab gets the ring.
        if element == QStyle.ControlElement.CE_TabBarTab and option.state & QStyle.StateFlag.State_HasFocus:
            _focus_ring(painter, QRectF(option.rect).adjusted(1, 1, -1, -1))

    def pixelMetric(  # noqa: N802 - Qt override
        self, metric: QStyle.PixelMetric, option: QStyleOption | None = None, widget: QWidget | None = None
    ) -> int:
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return TAB_H_SPACE
        return super().pixelMetric(metric, option, widget)


def _focus_ring(painter: QPainter, rect: QRectF) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(FOCUS_RING, 2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 2, 2)
    painter.restore()


TAB_H_SPACE = 14  # Fusion's is 24
FOCUS_RING = QColor("#8ab4f8")  # lighter than the highlight (#4e79a7): seen on dark grey
CHECKED_BUTTON = QColor("#3f5f86")  # a darker shade of the highlight (#4e79a7)


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style (compact tabs) with a dark palette, matching the plots."""
    app.setStyle(_CompactTabs(QStyleFactory.create("Fusion")))
    p = QPalette()
    base, window, text = QColor("#202124"), QColor("#2b2b2f"), QColor("#e6e6e6")
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#3a3a3f"))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#36363b"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#4e79a7"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Link, QColor("#7aa7d8"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8a8a8a"))
    disabled = QColor("#7a7a7a")
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    # A disabled slider's groove (Smooth off) was filled in the highlight, as if it worked.
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#4a4a50"))
    app.setPalette(p)

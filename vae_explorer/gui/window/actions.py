"""The window's menus, shortcuts and file dialogs (thin: the work is in MainWindow's
path-taking methods, which tests and scripts call directly)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox

from ... import __version__
from ...core.data import DATASETS, PROJECT_ROOT, locate_dataset
from ...core.data.registry import is_folder
from ...core.files import show_path
from . import file_dialogs
from .datasets import SHIPPED_MODELS
from .unsaved import OPENING

if TYPE_CHECKING:
    from .main_window import MainWindow

MODEL_FILTER = "VAE Explorer models (*.safetensors)"


class WindowMenus:
    """Builds the menu bar of ``window`` and keeps its actions as attributes."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        bar = window.menuBar()
        m = bar.addMenu("&File")
        self.open = self._action(
            "&Open model…",
            self._on_open_triggered,
            QKeySequence.StandardKey.Open,
            "Open a .safetensors checkpoint",
        )
        self.save = self._action(
            "&Save model", self._on_save_triggered, QKeySequence.StandardKey.Save, "Save the current model"
        )
        self.save_as = self._action(
            "Save model &as…",
            self._on_save_as_triggered,
            "Ctrl+Shift+S",
            "Save the current model to a new file",
        )
        self.export_png = self._action(
            "Export view as &PNG…",
            lambda: self._on_export_triggered("png"),
            tip="The latent scatter as an image",
        )
        self.export_svg = self._action(
            "Export view as S&VG…",
            lambda: self._on_export_triggered("svg"),
            tip="The latent scatter as a drawing",
        )
        self.export_csv = self._action(
            "Export &latents as CSV…",
            self._on_export_csv_triggered,
            tip="mu, logvar and label of every test image",
        )
        self.quit = self._action("&Quit", window.close, "Ctrl+Q", "Close VAE Explorer")
        for a in (
            self.open,
            self.save,
            self.save_as,
            None,
            self.export_png,
            self.export_svg,
            self.export_csv,
            None,
        ):
            m.addSeparator() if a is None else m.addAction(a)
        m.addAction(self.quit)

        m = bar.addMenu("&Dataset")
        self.dataset_group = QActionGroup(window)
        self.datasets: dict[str, QAction] = {}
        for key, info in DATASETS.items():
            a = self._action(
                info.title, lambda _=False, k=key: window.choose_dataset(k), tip=f"Show {info.title}"
            )
            a.setCheckable(True)
            self.dataset_group.addAction(a)
            self.datasets[key] = a
            m.addAction(a)
        m.addSeparator()
        self.open_folder = self._action(
            "Open folder of IDX files…",
            self._on_open_folder_triggered,
            tip="Any folder with the four IDX files",
        )
        m.addAction(self.open_folder)
        dataset_menu = m
        self.downloads: dict[str, QAction] = {}
        for key, info in DATASETS.items():
            if info.url is None:
                continue
            a = self._action(
                f"Download {info.title}…",
                lambda _=False, k=key: window.download_dataset(k),
                tip=f"Fetch {info.title} into the user cache (checksummed)",
            )
            a.setEnabled(locate_dataset(key, "test") is None)
            self.downloads[key] = a
            m.addAction(a)
        give_mnemonics(dataset_menu.actions())

        m = bar.addMenu("&Training")
        panel = window.training
        self.start_training = self._action(
            "&Start training",
            lambda: _click(panel.start_button),
            "F5",
            "Train a new model with the form's settings",
        )
        self.start_training.setShortcuts([QKeySequence("F5"), QKeySequence("Ctrl+R")])
        self.pause_training = self._action(
            "&Pause or resume training",
            lambda: _click(panel.pause_button),
            "F6",
            "Hold the run; again to go on",
        )
        self.stop_training = self._action(
            "S&top training",
            lambda: _click(panel.stop_button),
            "Shift+F5",
            "Stop after the current batch; the model so far is kept",
        )
        for a in (self.start_training, self.pause_training, self.stop_training):
            m.addAction(a)
        self.while_training(False)

        self.view_menu = bar.addMenu("&View")
        self.overlay = QAction("Grid &overlay", window, checkable=True)  # the scatter's check box's name
        self.overlay.setStatusTip("Tile decoded digits over the region of latent space they come from")
        self.overlay.toggled.connect(window.state.set_overlay)
        window.state.overlayChanged.connect(self.overlay.setChecked)
        self.reset_zoom = self._action("&Reset zoom", window.scatter.reset_zoom, "Ctrl+0", "Show every point")
        self.reset_layout = self._action(
            "Reset &layout", window.reset_layout, None, "Every dock back where it was at the first start"
        )

        m = bar.addMenu("&Help")
        self.shortcuts = self._action(
            "&Keyboard shortcuts and controls",
            self._on_shortcuts_triggered,
            QKeySequence.StandardKey.HelpContents,
            "Every key and mouse control of the window",
        )
        m.addAction(self.shortcuts)
        m.addAction(self._action("&About VAE Explorer", self._on_about_triggered))

    def fill_view_menu(self, docks: list[Any]) -> None:
        for dock in docks:
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.overlay)
        self.view_menu.addAction(self.reset_zoom)
        self.view_menu.addAction(self.reset_layout)
        give_mnemonics(self.view_menu.actions())

    def while_training(self, running: bool) -> None:
        """Actions that would replace the model or the data are off during a run; the
        training actions follow the panel's buttons."""
        for a in (self.open, self.open_folder, *self.datasets.values(), self.start_training):
            a.setEnabled(not running)
        self.pause_training.setEnabled(running)
        self.stop_training.setEnabled(running)

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        a = QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        return a

    # --- dialogs ---------------------------------------------------------------------------
    def last_dir(self, opening: bool = False) -> str:
        """Where file dialogs open: the folder used last, else the current model's (at a
        first start the shipped models'), else (to open a model) the shipped models' or
        the home folder. Never the shipped models' to save into (a shipped model's own
        name was offered there: one click from overwriting it)."""
        value = self.window.settings.value("paths/last_dir")
        model_path = self.window.state.model_path
        for folder in (value, None if model_path is None else Path(model_path).parent):
            if isinstance(folder, (str, Path)) and is_folder(folder):
                if opening or not _same_folder(folder, SHIPPED_MODELS):
                    return str(folder)
        if opening and is_folder(SHIPPED_MODELS):
            return str(SHIPPED_MODELS)
        return str(Path.home())

    def remember_dir(self, path: str) -> None:
        self.window.settings.setValue("paths/last_dir", str(Path(path).parent))

    def suggested_stem(self) -> str:
        """What files of the model are named from: its own name, else its kind if labelled,
        dataset and latent size ("mnist-z2", "m2-mnist-z2")."""
        state = self.window.state
        if state.model_path is not None:
            return Path(state.model_path).stem
        dataset = state.model_meta.get("dataset")
        stem = f"{dataset if isinstance(dataset, str) and dataset else 'model'}-z{state.latent_dim}"
        kind = getattr(getattr(state.model, "config", None), "kind", None)
        return f"{kind}-{stem}" if isinstance(kind, str) else stem  # (as the shipped ones)

    def _suggested_name(self, suffix: str) -> str:
        """A file name to start from ("mnist-z2.safetensors", "mnist-z2-latents.csv")."""
        return self.suggested_stem() + {".safetensors": "", ".csv": "-latents"}.get(suffix, "-view") + suffix

    def _save_name(self, title: str, flt: str, suffix: str) -> str | None:
        """Ask for a file to write; a name typed without ``suffix`` gets it. The dialog asks
        before replacing the name as typed; a file under the completed name is asked about
        here (it was replaced without a word)."""
        start = str(Path(self.last_dir()) / Path(self._suggested_name(suffix)).name)
        while True:
            path = file_dialogs.save_file_name(self.window, title, start, flt)
            if not path:
                return None
            if path.lower().endswith(suffix) or not Path(path + suffix).exists():
                break
            path += suffix
            if self._may_replace(path):
                break
            start = path  # "No": the dialog again, at that name
        if not path.lower().endswith(suffix):
            path += suffix
        self.remember_dir(path)
        return path

    def _may_replace(self, path: str) -> bool:
        answer = QMessageBox.question(
            self.window, "Replace file?",
            f"{show_path(Path(path).name)} already exists in {show_path(Path(path).parent)}. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )  # fmt: skip
        return answer == QMessageBox.StandardButton.Yes

    def _on_open_triggered(self) -> None:
        if not self.window.may_drop_model(OPENING):
            return
        shown = self.window.state.model_version
        path = file_dialogs.open_file_name(
            self.window, "Open model", self.last_dir(opening=True), MODEL_FILTER
        )
        # Another model became current while the dialog was up (a recovered one, say): it
        # is asked about in its turn.
        if path and self.window.state.model_version != shown and not self.window.may_drop_model(OPENING):
            return
        if path:
            self.remember_dir(path)
            self.window.open_model_in_background(path)

    def save_interactively(self) -> bool:
        """File ▸ Save: to the model's own file, or ask for one (never over a shipped
        model). True if the model was saved."""
        path = self.window.state.model_path
        if path is None or PROJECT_ROOT / "trained" in Path(path).parents:
            return self.save_as_interactively()
        return self.window.save_model(path)

    def save_as_interactively(self) -> bool:
        path = self._save_name("Save model", MODEL_FILTER, ".safetensors")
        return path is not None and self.window.save_model(path)

    def _on_save_triggered(self) -> None:
        self.save_interactively()

    def _on_save_as_triggered(self) -> None:
        self.save_as_interactively()

    def _on_export_triggered(self, kind: str) -> None:
        flt = "PNG image (*.png)" if kind == "png" else "SVG drawing (*.svg)"
        path = self._save_name("Export view", flt, "." + kind)
        if path:
            self.window.export_view(path)

    def _on_export_csv_triggered(self) -> None:
        path = self._save_name("Export latents", "CSV (*.csv)", ".csv")
        if path:
            self.window.export_latents(path)

    def _on_open_folder_triggered(self) -> None:
        folder = file_dialogs.existing_folder(self.window, "Folder with the four IDX files", self.last_dir())
        if folder:
            self.window.set_dataset(folder)

    def _on_shortcuts_triggered(self) -> None:
        from .help import ShortcutsDialog

        dialog = ShortcutsDialog(self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.shortcuts_dialog = dialog

    def _on_about_triggered(self) -> None:
        import torch

        QMessageBox.about(
            self.window,
            "About VAE Explorer",
            f"<b>VAE Explorer {__version__}</b><p>Train a variational auto-encoder "
            "(Kingma &amp; Welling, 2014) and look inside it: live curves, the latent space, "
            "click-and-drag decoding, the latent manifold, painting and imputation.</p>"
            f"<p>Python {sys.version.split()[0]} · PyTorch {torch.__version__}</p>",
        )


def _click(button: Any) -> None:
    """What a click on the panel's ``button`` does, if it can be clicked now."""
    if button.isEnabled():
        button.click()


def give_mnemonics(actions: list[QAction]) -> None:
    """An Alt letter for every entry of a menu that has none (the datasets' and the docks'
    names come without): the first letter of its text no other entry uses."""
    used = {a.text()[a.text().index("&") + 1].lower() for a in actions if "&" in a.text()}
    for a in actions:
        text = a.text()
        if a.isSeparator() or not text or "&" in text:
            continue
        for i, ch in enumerate(text):
            if ch.isalnum() and ch.lower() not in used:
                used.add(ch.lower())
                a.setText(f"{text[:i]}&{text[i:]}")
                break


def _same_folder(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except (OSError, RuntimeError, ValueError):
        return False

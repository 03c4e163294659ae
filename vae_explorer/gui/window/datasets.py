"""Datasets in the window: choosing one (and the model that goes with it), loading its test
split into the state, downloading Fashion-MNIST in the background."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtWidgets import QMessageBox

from ...core.data import DATASETS, PROJECT_ROOT, DatasetError, DatasetRef, locate_dataset
from .unsaved import OPENING

if TYPE_CHECKING:
    from .main_window import MainWindow

SHIPPED_MODELS = PROJECT_ROOT / "trained"
DEFAULT_CHECKPOINT = SHIPPED_MODELS / "mnist-bernoulli-z2.safetensors"  # a first start's model
MISMATCH_COLOUR = "#e3b341"  # the data label's, while the model was trained on other data


def shipped_model_for(dataset: str) -> Path | None:
    """The shipped model trained on ``dataset`` (the Bernoulli one), if there is one."""
    path = SHIPPED_MODELS / f"{dataset}-bernoulli-z2.safetensors"
    return path if path.is_file() else None


class Datasets:
    """The window's dataset actions; MainWindow exposes them as its own methods."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def show_current(self) -> None:
        """The status bar and the Dataset menu follow the state's dataset; the data label
        says, for as long as it is so, when the model was trained on other data (its
        download declined, another dataset chosen): the scatter then misleads."""
        state = self.window.state
        ref = DatasetRef.from_key(state.dataset_key)
        n = len(state.test_set) if state.test_set is not None else 0
        label = self.window.dataset_label
        text = f"Data: {ref.title} ({n:,} test images)"
        trained_on = state.model_meta.get("dataset") if state.model is not None else None
        if isinstance(trained_on, str) and trained_on in DATASETS and state.dataset_key in DATASETS:
            other = trained_on != state.dataset_key
        else:  # a folder of IDX files may hold the very data: no claim either way
            other = False
        # (Set only what changes: this runs at every training snapshot, several a second,
        # and a style sheet set anew restyles the label and refits the status bar.)
        style, tip = "", None
        if other:
            theirs = DATASETS[str(trained_on)].title
            text = f"{text} · not the model's ({theirs})"
            style = f"color: {MISMATCH_COLOUR};"
            tip = (
                f"The model was trained on {theirs}, not on the {ref.title} shown: its latent space "
                f"means little for them. Dataset ▸ {theirs} shows its own data."
            )
        if label.text() != text:
            label.setText(text)  # (its tooltip: the text)
        if tip is not None and label.toolTip() != tip:
            label.setToolTip(tip)
        if label.styleSheet() != style:
            label.setStyleSheet(style)
        if self.window.views_ready:  # the menus exist
            for k, a in self.window.menus.datasets.items():
                a.setChecked(k == state.dataset_key)

    def choose_dataset(self, key: str) -> bool:
        """The user picked dataset ``key`` (menu, training form): show it, and when the
        current model was trained on another dataset, offer the shipped model for this one."""
        if not self.set_dataset(key):
            return False
        trained_on = self.window.state.model_meta.get("dataset")
        shipped = shipped_model_for(key)
        if (
            isinstance(trained_on, str)
            and trained_on in DATASETS
            and trained_on != key
            and shipped is not None
            and self.window.ask_open_matching(DATASETS[trained_on].title, DATASETS[key].title)
            and self.window.may_drop_model(OPENING)
        ):
            self.window.open_model(shipped)
        return True

    def set_dataset(self, key: str) -> bool:
        """Show dataset ``key`` ("mnist", "fashion-mnist" or a folder of IDX files)."""
        if self.window.views_ready and self.window.trainer.is_running():
            self.window.show_error("Dataset", "stop the training run before changing the dataset")
            self.show_current()
            return False
        try:
            test = DatasetRef.from_key(key).load("test")
        except DatasetError as exc:
            self.show_current()
            if not self._offer_download(key):
                self.window.show_error("Cannot open the dataset", str(exc))
            return False
        self.window.state.set_dataset(key, test)
        if self.window.state.model is not None and self.window.views_ready:
            self.window.scatter.reset_zoom()
        return True

    def _offer_download(self, key: str) -> bool:
        """A downloadable dataset that is not on this computer: ask to fetch it (shown once
        it is here). False when there is nothing to offer (the error is then shown)."""
        info = DATASETS.get(key)
        if info is None or info.url is None or locate_dataset(key, "test") is not None:
            return False
        if not self.window.views_ready:  # starting up: no question before the first paint
            return False
        if ask_download(self.window, info.title, urlsplit(info.url).netloc):
            self.download_dataset(key)
        return True

    def download_dataset(self, name: str) -> None:
        """Fetch a downloadable dataset in the background, then show it."""
        if not self.window.downloader.is_running():
            self.window.statusBar().showMessage(f"Downloading {DATASETS[name].title}…")
            self.window.downloader.start(name)

    def _on_download_finished(self, name: str, _folder: str) -> None:
        if name in self.window.menus.downloads:
            self.window.menus.downloads[name].setEnabled(False)
        title = DATASETS[name].title
        if self.window.views_ready and self.window.trainer.is_running():  # (the data stays put)
            self.window.statusBar().showMessage(
                f"Downloaded {title}: choose it in the Dataset menu once the run has ended", 15_000
            )
            return
        self.window.statusBar().showMessage(f"Downloaded {title}", 8000)
        if not self.window._closing:
            self.set_dataset(name)

    def _on_download_failed(self, message: str) -> None:
        from .downloads import CANCELLED

        if message == CANCELLED:
            self.window.statusBar().showMessage("Download cancelled", 8000)
        else:
            self.window.show_error("Download failed", message)


def ask_open_matching(window: MainWindow, trained_on: str, shown: str) -> bool:
    """Yes/No: open the shipped model of the dataset now shown."""
    answer = QMessageBox.question(
        window,
        "Model and data differ",
        f"The current model was trained on {trained_on}, so its latent space means little "
        f"for {shown}. Open the shipped {shown} model?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_download(window: MainWindow, title: str, host: str) -> bool:
    """Yes/No: download a dataset that is not on this computer."""
    answer = QMessageBox.question(
        window,
        "Download the dataset?",
        f"{title} is not on this computer yet. Download it now (about 30 MB from {host})? "
        "It is shown as soon as it is here; the download can be cancelled.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes

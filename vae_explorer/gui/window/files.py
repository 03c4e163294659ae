"""Files in the window: opening models (now, or in the background with a busy indicator),
saving them, and exporting the view and the latents (each atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import QProgressDialog

from ...core.checkpoint_file import CheckpointError
from ...core.data import DATASETS, DatasetRef
from ...core.files import show_path
from . import settings
from .startup import LATENT_ARRAYS, cached_latents, folder_hint
from .unsaved import OPENING

if TYPE_CHECKING:  # torch: imported when a model is opened or saved, not at start-up
    from ...core.checkpoints import Checkpoint
    from .main_window import MainWindow

METADATA_KEYS_NOT_SAVED = ("config", "format", "format_version", "app_version")


class Files:
    """The window's model files and exports; MainWindow exposes them as its own methods."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._open_token = 0
        self._opening: set[int] = set()

    def open_model(self, path: str | Path) -> bool:
        """Load a checkpoint now (scripts, tests, the first model); errors go to the user,
        the current model stays."""
        if self._refuse_open_while_training():
            return False
        from ...core.checkpoints import load_checkpoint

        try:
            ckpt = load_checkpoint(path)
        except (CheckpointError, OSError, MemoryError) as exc:
            self.on_model_load_failed(str(exc) if not isinstance(exc, MemoryError) else "out of memory")
            return False
        return self.show_checkpoint(ckpt, Path(path))

    def open_model_in_background(self, path: str | Path) -> None:
        """File ▸ Open: read the checkpoint in a worker (a large file takes seconds) with a
        busy indicator; the newest request wins. ``opening`` is True until it is shown."""
        if self._refuse_open_while_training():
            return
        from ...core.checkpoints import load_checkpoint
        from ..workers import Worker

        self._open_token += 1
        token, path = self._open_token, Path(path)
        shown = self.window.state.model_version  # (the model the user agreed to drop)
        dialog = QProgressDialog(f"Opening {path.name}…", "", 0, 0, self.window)
        dialog.setCancelButton(None)
        dialog.setWindowTitle("Open model")
        dialog.setMinimumDuration(400)
        worker = Worker(load_checkpoint, path, name="open-model")
        worker.returned.connect(lambda ckpt: self._on_model_loaded(token, ckpt, path, shown))
        worker.failed.connect(lambda message: self._on_model_loaded(token, None, path, shown, message))
        worker.finished.connect(dialog.deleteLater)
        worker.finished.connect(lambda: self._opening.discard(token))
        self._opening.add(token)
        worker.start()

    @property
    def opening(self) -> bool:
        """A checkpoint is being read in the background."""
        return bool(self._opening)

    def cancel_opening(self, why: str) -> None:
        """Forget a checkpoint still being read (a newer request, such as a new run, wins):
        it is not shown when it arrives."""
        if self._opening:
            self._open_token += 1
            self.window.statusBar().showMessage(f"Opening the model was cancelled: {why}", 10_000)

    def _refuse_open_while_training(self) -> bool:
        if self.window.views_ready and self.window.trainer.is_running():
            # The run's final snapshot would replace the opened model when it arrives.
            self.window.show_error("Open model", "stop the training run before opening a model")
            return True
        return False

    def _on_model_loaded(
        self, token: int, ckpt: Checkpoint | None, path: Path, shown: int, error: str = ""
    ) -> None:
        if token != self._open_token:
            return  # overtaken by a newer Open
        if ckpt is None:
            self.on_model_load_failed(error)
        elif self.window.state.model_version == shown or self.window.may_drop_model(OPENING):
            # (Another model became current meanwhile, not by an open: it is asked about.)
            self.show_checkpoint(ckpt, path, token=token)
        else:
            self.window.statusBar().showMessage(f"Not opened {path.name}: the model shown stays", 10_000)

    def on_model_load_failed(self, message: str) -> None:
        self.window.show_error("Cannot open the model", message)

    def show_checkpoint(
        self, ckpt: Checkpoint, path: Path, recovered: bool = False, token: int | None = None
    ) -> bool:
        """Make a loaded checkpoint current: its dataset shown, its cached test latents used
        when they belong to that dataset (no encoding), its arrays kept for the next save.
        ``recovered``: a recovery copy (recovery.py), shown as the unsaved model it was.
        ``token``: the background open it ends; any other show cancels those still being
        read (the newest choice wins: an older File ▸ Open replaced it when it arrived)."""
        if self._refuse_open_while_training():
            return False
        if token is None:
            self.cancel_opening(f"{path.name} was opened meanwhile")
        from ..labelled import explorer_model

        model = explorer_model(ckpt.model)  # a labelled model decodes its shown class
        # Probed on the data on show (any real images show overflowing weights) before the
        # dataset changes for it; with none on show yet, once its own is loaded.
        probed = self.window.state.test_set
        if probed is not None and self._refuse_damaged(model, path):
            return False
        ds = ckpt.metadata.get("dataset")
        shown_before = self.window.state.dataset_key
        wanted = ds if isinstance(ds, str) and ds in DATASETS else shown_before
        if self.window.state.test_set is None or wanted != self.window.state.dataset_key:
            if not self.window.set_dataset(wanted) and self.window.state.test_set is None:
                self.window.set_dataset(self.window.dataset_key_at_start)
        if self.window.state.test_set is not probed and self._refuse_damaged(model, path):
            # (Probed once more only on other data.) The current model stays: so does its data.
            if probed is not None and self.window.state.dataset_key != shown_before:
                self.window.state.set_dataset(shown_before, probed)
                self.window.scatter.reset_zoom()
            return False
        history = ckpt.metadata.get("history")
        self.window.state.set_history(list(history) if isinstance(history, list) else [])
        state = self.window.state
        latents = cached_latents(ckpt.arrays, ckpt.metadata, state.dataset_key)
        shown_path = None if recovered else path
        state.set_model(
            model, dict(ckpt.metadata), shown_path, latents, modified=recovered, arrays=ckpt.arrays
        )
        self.window.scatter.reset_zoom()
        if recovered:
            message = "Recovered the unsaved model: File ▸ Save model keeps it"
        else:
            settings.remember_model(self.window.settings, path)
            message = f"Opened {show_path(path)}"
        if wanted != state.dataset_key:  # its data is not here (a download declined or failed)
            shown = DatasetRef.from_key(state.dataset_key).title
            self.window.statusBar().showMessage(
                f"Opened {show_path(path.name)}: its data, {DatasetRef.from_key(wanted).title}, is not "
                f"on this computer; {shown} shown instead"
            )  # (kept until another message: the picture is misleading meanwhile)
            return True
        hint = folder_hint(ckpt.metadata, state.dataset_key) if not recovered else None
        if hint is not None:  # trained on a folder of IDX files: which one is not recorded
            self.window.statusBar().showMessage(f"Opened {show_path(path.name)}: {hint}", 30_000)
            return True
        self.window.statusBar().showMessage(message, 15000)
        return True

    def _refuse_damaged(self, model: Any, path: Path) -> bool:
        """Finite weights that overflow (a flipped bit): told and refused, the current model
        stays (else every view drew NaN and imputation failed deep in torch)."""
        test = self.window.state.test_set
        if test is None:
            return False
        from ...core.model_probe import DamagedModelError, check_model

        try:
            check_model(model, test.images, path.name)
        except DamagedModelError as exc:
            self.window.show_error("Cannot open the model", f"{exc}. The current model stays.")
            return True
        return False

    def save_model(self, path: str | Path) -> bool:
        """Save the current model (atomically) with its dataset and training history."""
        state = self.window.state
        if state.model is None:
            return False
        if getattr(state.model, "config", None) is None:
            self.window.show_error(
                "Cannot save the model",
                "this is your own model (explore()): save it with torch.save in your script",
            )
            return False
        meta = self.metadata_to_save()
        try:
            saved = self.write_current_model(path, meta)
        except CheckpointError as exc:
            self.window.show_error("Cannot save the model", str(exc))
            return False
        state.mark_saved(saved, meta)
        settings.remember_model(self.window.settings, Path(saved))  # (the next start opens it)
        if state.training:
            # The file holds this snapshot; the run goes on and its later weights are not in it.
            epochs = meta.get("epochs_completed", 0)
            total = (
                self.window.trainer.job.train_config.epochs if self.window.trainer.job is not None else "?"
            )
            self.window.statusBar().showMessage(
                f"Saved the snapshot after epoch {epochs} of {total} to {saved}; the run goes on "
                "(save again when it ends to keep the final model)",
                15000,
            )
        else:
            self.window.statusBar().showMessage(f"Saved {saved}", 8000)
        return True

    def metadata_to_save(self) -> dict[str, Any]:
        """The current model's metadata as a file keeps it: its dataset and history."""
        state = self.window.state
        meta = {k: v for k, v in state.model_meta.items() if k not in METADATA_KEYS_NOT_SAVED}
        meta.setdefault("dataset", DatasetRef.from_key(state.dataset_key).metadata_name)
        if state.history:
            meta["history"] = state.history
        return meta

    def write_current_model(self, path: str | Path, meta: dict[str, Any]) -> Path:
        """Write the current model (one of the app's) atomically with ``meta`` and its
        arrays; the state is not told (a save marks it saved). Raises CheckpointError."""
        from ...core.checkpoints import save_checkpoint

        model = self.window.state.model
        assert model is not None
        return save_checkpoint(model, path, meta, arrays=self.arrays_to_save(meta))

    def arrays_to_save(self, meta: dict[str, Any], first_screen: bool = True) -> dict[str, np.ndarray]:
        """The model's own arrays, with the test latents on show and the first screen's
        pictures when they belong to the dataset the file names: the file then opens at once."""
        from ...core.first_screen import FIRST_SCREEN_ARRAYS, first_screen_images, usable_first_screen

        state = self.window.state
        # Copies (kilobytes): torch warns about wrapping read-only numpy arrays. A damaged
        # cached picture the file came with is left out (made anew below), not saved again.
        dim = state.model.latent_dim if state.model is not None else None
        arrays = {name: np.array(a) for name, a in usable_first_screen(state.model_arrays, dim).items()}
        latents = state.latents
        if (
            state.model is None
            or latents is None
            or meta.get("dataset") != DatasetRef.from_key(state.dataset_key).metadata_name
        ):
            return arrays
        for name, array in zip(LATENT_ARRAYS, latents, strict=True):
            arrays[name] = np.array(array, np.float32)
        if first_screen and not all(name in arrays for name in FIRST_SCREEN_ARRAYS):
            arrays.update(first_screen_images(state.model))
        return arrays

    def export_view(self, path: str | Path) -> bool:
        """Write the latent scatter as PNG or SVG (by suffix)."""
        from . import export

        write = export.export_svg if str(path).lower().endswith(".svg") else export.export_png
        return self._export(lambda: write(self.window.scatter, path), path)

    def export_latents(self, path: str | Path) -> bool:
        """Write the test set's latents (mu, logvar, label) as CSV."""
        from . import export

        return self._export(lambda: export.export_latents_csv(self.window.state, path), path)

    def _export(self, write: Any, path: str | Path) -> bool:
        try:
            write()
        except OSError as exc:
            self.window.show_error("Export failed", f"{show_path(path)}: {exc.strerror or exc}")
            return False
        self.window.statusBar().showMessage(f"Exported {show_path(path)}", 8000)
        return True

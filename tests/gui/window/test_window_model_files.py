"""Models and exports through the window: open, save, bad checkpoints, odd metadata, exports."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoint_files import rewrite_header
from PySide6.QtWidgets import QApplication
from window_helpers import (
    assert_scatter_decodes,
    good_file,
    open_via_menu,
    same_weights,
    told,
    weights,
)

from vae_explorer.core import checkpoints as ck
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.window import file_dialogs


def test_save_and_open_a_model(window, tmp_path):
    path = tmp_path / "mine.safetensors"
    assert window.save_model(path)
    assert path.is_file() and window.state.model_path == path
    ckpt = load_checkpoint(path)
    for k, v in window.state.model.state_dict().items():
        np.testing.assert_array_equal(ckpt.model.state_dict()[k].numpy(), v.numpy())
    assert ckpt.metadata["dataset"] == "mnist"
    import torch

    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(5)
    window.state.set_model(VAE(VAEConfig(hidden_dim=16)))
    assert window.open_model(path)
    assert window.state.model.config.hidden_dim == 64
    assert "mine.safetensors" in window.model_label.text()


def test_opening_a_bad_file_keeps_the_model(window, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04not a checkpoint")
    model = window.state.model
    assert not window.open_model(bad)
    assert window.state.model is model
    assert "pickle" in window.last_error


def test_opening_a_model_fills_the_training_form(window, tmp_path):
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE, VAEConfig

    torch.manual_seed(3)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=48, likelihood="gaussian"))
    path = save_checkpoint(
        model,
        tmp_path / "g.safetensors",
        {"dataset": "mnist", "train_config": {"epochs": 7, "lr": 0.002, "beta": 0.5}},
    )
    assert window.open_model(path)
    t = window.training
    assert t.likelihood.currentData() == "gaussian" and t.latent_dim.value() == 3
    assert t.hidden_dim.value() == 48 and t.epochs.value() == 7
    assert t.lr.value() == 0.002 and t.beta.value() == 0.5
    assert "squared error" in window.model_label.text()


class _Exploit:
    """Unpickling this would create the file named by ``flag``."""

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


def _nan_weights(path: Path) -> None:
    model = load_checkpoint(path).model
    with torch.no_grad():
        model.dec_out.bias[3] = float("nan")
    save_checkpoint(model, path, {"dataset": "mnist"})


def _meta(key: str, value: str):
    return lambda p: rewrite_header(p, lambda h: h["__metadata__"].update({key: value}))


BAD_CHECKPOINTS = {
    "truncated in the header": (lambda p: p.write_bytes(p.read_bytes()[:40]), ("truncated inside",)),
    "truncated in the weights": (lambda p: p.write_bytes(p.read_bytes()[:-1000]), ("truncated",)),
    "newer format": (_meta("format_version", "99"), ("newer",)),
    "shapes do not match": (_meta("config", '{"latent_dim": 3, "hidden_dim": 32}'), ("shape",)),
    "no metadata": (lambda p: rewrite_header(p, lambda h: h.pop("__metadata__")), ("not a VAE Explorer",)),
    "torch.save zip": (lambda p: torch.save({"w": torch.zeros(3)}, p), ("zip",)),
    "config not JSON": (_meta("config", "{not json"), ("not JSON",)),
    "NaN weights": (lambda p: _nan_weights(p), ("NaN",)),
}


def _assert_model_kept(window, model, before, path, title) -> None:
    assert window.state.model is model and same_weights(weights(window.state.model), before)
    assert window.state.model_path == path and window.windowTitle() == title
    assert window.state.latents is not None and np.isfinite(window.state.latents[0]).all()


def test_a_pickle_checkpoint_is_refused_without_running_it(window, qtbot, tmp_path, monkeypatch):
    flag = tmp_path / "PWNED"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Exploit(str(flag))))
    model, before, path, title = (
        window.state.model,
        weights(window.state.model),
        window.state.model_path,
        window.windowTitle(),
    )
    open_via_menu(window, monkeypatch, evil)
    assert not flag.exists(), "unpickling ran code from the file"
    text = told(window)
    assert "pickle" in text and "evil.safetensors" in text
    _assert_model_kept(window, model, before, path, title)
    assert_scatter_decodes(window, qtbot)


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_a_bad_checkpoint_is_refused_and_the_model_stays(window, qtbot, tmp_path, monkeypatch, case):
    damage, phrases = BAD_CHECKPOINTS[case]
    bad = good_file(tmp_path / "bad.safetensors")
    damage(bad)
    model, before, path, title = (
        window.state.model,
        weights(window.state.model),
        window.state.model_path,
        window.windowTitle(),
    )
    open_via_menu(window, monkeypatch, bad)
    text = told(window)
    assert str(bad) in text and any(p in text for p in phrases), text
    assert "Cannot open the model" in window.statusBar().currentMessage()
    _assert_model_kept(window, model, before, path, title)
    assert_scatter_decodes(window, qtbot)


def test_an_unharmed_checkpoint_opens(window, tmp_path, monkeypatch):
    """The control for the damage above."""
    good = good_file(tmp_path / "good.safetensors")
    open_via_menu(window, monkeypatch, good)
    assert window.state.model_path == good and window.state.model.config.hidden_dim == 32


def _save_via_menu(window, monkeypatch, path: Path) -> None:
    """File ▸ Save model as…, the dialog answering ``path``."""
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: str(path))
    window.menus.save_as.trigger()


def _read_only(monkeypatch) -> None:
    """A read-only folder, as root sees one: creating the temporary file is refused."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def _full_disk(monkeypatch) -> None:
    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.os, "fsync", no_space)


@pytest.mark.parametrize("fault, phrase", [(_read_only, "Permission denied"), (_full_disk, "No space left")])
def test_a_failed_save_keeps_the_previous_file(window, tmp_path, monkeypatch, fault, phrase):
    path = tmp_path / "mine.safetensors"
    _save_via_menu(window, monkeypatch, path)
    assert window.state.model_path == path
    good = path.read_bytes()
    torch.manual_seed(9)
    window.state.set_model(VAE(VAEConfig(hidden_dim=16)), {"dataset": "mnist"}, None)
    fault(monkeypatch)
    _save_via_menu(window, monkeypatch, path)
    text = told(window)
    assert phrase in text and "Cannot save the model" in text, text
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.safetensors", "settings.ini"]
    assert window.state.model_path is None  # still unsaved: the title must not claim otherwise
    assert "unsaved" in window.windowTitle()
    monkeypatch.undo()
    assert load_checkpoint(path).config.hidden_dim == 64


@pytest.mark.parametrize(
    "meta",
    [
        {"history": [1, "a", None, {"epoch": "x", "train_loss": "nan"}], "dataset": 42},
        {"history": {"epoch": 1}, "train_config": [1, 2], "epochs_completed": "many"},
        {"train_config": {"epochs": -3, "lr": "fast", "batch_size": 1e308, "beta": float("nan")}},
        {"history": [{"epoch": 1, "train_loss": float("inf"), "test_elbo": None}], "dataset": "/etc"},
        {"dataset": "fashion-mnist-but-not-really", "history": [{"epoch": i} for i in range(3)]},
        {"train_config": {"epochs": 10**400, "seed": -(10**30)}, "history": [{"epoch": 10**400}]},
    ],
)
def test_odd_metadata_in_a_valid_checkpoint(window, qtbot, tmp_path, monkeypatch, meta):
    """Metadata the window reads (history, train_config, dataset) comes from the file too."""
    torch.manual_seed(4)
    path = save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=32)), tmp_path / "odd.safetensors", meta)
    open_via_menu(window, monkeypatch, path)
    assert window.state.model_path == path  # the weights are fine: it opens
    assert window.state.dataset_key == "mnist"
    c = window.training.job().train_config
    assert c.epochs >= 1 and c.batch_size >= 1 and c.lr > 0 and c.beta >= 0
    assert_scatter_decodes(window, qtbot)
    assert window.save_model(tmp_path / "again.safetensors")


def test_exports(window, tmp_path):
    assert window.export_view(tmp_path / "view.png")
    assert (tmp_path / "view.png").stat().st_size > 10_000
    assert window.export_view(tmp_path / "view.svg")
    assert "<svg" in (tmp_path / "view.svg").read_text()[:2000]
    assert window.export_latents(tmp_path / "z.csv")
    lines = (tmp_path / "z.csv").read_text().splitlines()
    assert lines[0].startswith("index,label,class,mu_0,mu_1,logvar_0,logvar_1")
    assert len(lines) == 10_001


@pytest.mark.parametrize("name", ["view.png", "view.svg", "z.csv"])
def test_an_export_that_cannot_be_written_is_reported(window, tmp_path, name):
    target = tmp_path / "no such folder" / name
    export = window.export_latents if name.endswith(".csv") else window.export_view
    assert not export(target)
    text = told(window)
    assert "Export failed" in text and ("no such folder" in text.lower() or "No such file" in text), text
    assert not target.exists()


def test_a_png_the_image_writer_refuses_is_reported(window, tmp_path, monkeypatch):
    """QImage.save fails quietly (permissions, full disk): the window must not say Exported."""
    from PySide6.QtGui import QImage

    monkeypatch.setattr(QImage, "save", lambda self, *a, **k: False)
    assert not window.export_view(tmp_path / "view.png")
    assert "could not be written" in told(window)
    assert not window.statusBar().currentMessage().startswith("Exported")


@pytest.mark.parametrize("name", ["view.svg", "view.png", "z.csv"])
def test_an_export_to_a_full_disk_is_reported_and_keeps_the_earlier_one(window, tmp_path, name):
    """Issue 10: an SVG export to a full disk said "Exported" over a truncated file; PNG and
    CSV destroyed the earlier export of that name. Now: reported, and the old file stays."""
    from checkpoint_files import tmpfs

    export = window.export_latents if name.endswith(".csv") else window.export_view
    with tmpfs(tmp_path / "disk", size_kb=4096) as disk:
        target = disk / name
        assert export(target)  # the earlier export, complete
        before = target.read_bytes()
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk to the last block
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        window.last_error = None
        assert not export(target)
        assert "Export failed" in told(window) and not window.statusBar().currentMessage().startswith(
            "Exported"
        )
        assert target.read_bytes() == before
        assert sorted(p.name for p in disk.iterdir()) == sorted([name, "filler"])  # no temporary file left


def _yellow_fraction(png) -> float:
    from PIL import Image

    with Image.open(png) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    yellow = (rgb[..., 0] > 200) & (rgb[..., 1] > 190) & (rgb[..., 2] < 120)
    return float(yellow.mean())


def test_the_svg_export_draws_strokes_as_the_window_does_in_any_renderer(window, tmp_path):
    """Issue 9 item 18: librsvg ignores vector-effect="non-scaling-stroke", so the canvas
    ellipse (a 2-px stroke in a ~50x scaled group) became a solid yellow disc there."""
    import shutil
    import subprocess

    window.state.set_canvas_posterior(np.array([0.5, 0.5], np.float32), np.array([-2.0, -2.0], np.float32))
    assert window.export_view(tmp_path / "v.svg") and window.export_view(tmp_path / "v.png")
    svg = (tmp_path / "v.svg").read_text()
    assert "non-scaling-stroke" not in svg  # strokes are in their final coordinates
    renderer = shutil.which("rsvg-convert")
    if renderer is None:
        pytest.skip("rsvg-convert (Debian librsvg2-bin) is not installed: checked the SVG text only")
    subprocess.run([renderer, str(tmp_path / "v.svg"), "-o", str(tmp_path / "rsvg.png")], check=True)
    in_svg, in_png = _yellow_fraction(tmp_path / "rsvg.png"), _yellow_fraction(tmp_path / "v.png")
    assert in_png > 0  # the marker is there
    assert in_svg < 3 * in_png + 1e-4, (in_svg, in_png)  # an outline, not a filled disc


def test_the_open_dialog_starts_in_the_models_folder_then_the_last_one_used(
    window, small_checkpoint, tmp_path, monkeypatch
):
    started_in: list[str] = []

    def fake_dialog(parent, title, folder, filters):
        started_in.append(folder)
        return ""

    monkeypatch.setattr(file_dialogs, "open_file_name", fake_dialog)
    window.settings.remove("paths/last_dir")
    window.menus.open.trigger()
    assert started_in[-1] == str(small_checkpoint.parent)  # a first start: the model's folder
    window.settings.setValue("paths/last_dir", str(tmp_path))
    window.menus.open.trigger()
    assert started_in[-1] == str(tmp_path)


def test_save_dialogs_offer_a_file_name(window, monkeypatch):
    """The model's own name, or one made of its dataset and latent size; exports add theirs."""
    offered = []

    def ask(_parent, _title, start, _filters):
        offered.append(Path(start).name)
        return ""

    monkeypatch.setattr(file_dialogs, "save_file_name", ask)
    window.menus.save_as.trigger()
    window.state.set_model(VAE(VAEConfig(latent_dim=3, hidden_dim=8)), {"dataset": "mnist"})
    window.menus.save_as.trigger()
    window.menus.export_csv.trigger()
    assert offered == ["small.safetensors", "mnist-z3.safetensors", "mnist-z3-latents.csv"]


def test_open_starts_in_the_shipped_models_when_nothing_else_says_where(window, monkeypatch):
    from vae_explorer.core.data import PROJECT_ROOT
    from vae_explorer.core.model import VAE, VAEConfig

    started = []
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda _p, _t, start, _f: started.append(start) or "")
    window.state.set_model(VAE(VAEConfig(latent_dim=2, hidden_dim=8)), {"dataset": "mnist"})  # no file
    window.menus.open.trigger()
    assert started == [str(PROJECT_ROOT / "trained")]


def test_the_svg_export_keeps_to_the_plot_when_zoomed_in(window, tmp_path):
    """Qt's SVG writer ignores clipping: a zoomed view wrote every point, over the axes and
    their labels, the crosshair of an off-screen z over the y axis, the walk's dots as
    pictures and the axes as pictures. Now only what is inside the plot, all as shapes."""
    import re

    view = window.scatter
    x, y = view.cloud.points()
    cx, cy, half = float(np.median(x)), float(np.median(y)), 0.3 * float(np.std(x))
    view.vb.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    QApplication.processEvents()
    (x0, x1), (y0, y1) = view.visible_range()
    inside = int(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).sum())
    assert 0 < inside < len(x) // 2
    window.state.set_current_z(np.array([x1 + 3.0, 0.0], np.float32))  # its crosshair: off the plot
    window.walk.walk_between(window.walk.test_image_end(3), window.walk.test_image_end(7))
    assert window.export_view(tmp_path / "zoomed.svg")
    svg = (tmp_path / "zoomed.svg").read_text()
    circles = len(re.findall(r"<circle\b", svg))
    legend = len(window.state.test_set.classes)
    assert inside <= circles <= inside + legend + 12, (circles, inside)  # (+ the walk's dots inside)
    assert "<image" not in svg
    assert view.crosshair.isVisible() and view.cloud._exportOpts is False  # all as it was


def test_marks_of_points_stay_in_the_svg_as_shapes_and_everything_is_put_back(window, tmp_path):
    """A labelled model's rings sit at (0, 0) with their points anywhere: judged by that
    position they vanished from a view without the origin, or came out as pictures."""
    import pyqtgraph as pg

    from vae_explorer.gui.scatter.svg_clip import clipped_for_svg

    view = window.scatter
    x, y = view.cloud.points()
    cx, cy = float(np.median(x)) + 5.0, float(np.median(y)) + 5.0  # far from the origin
    view.vb.setRange(xRange=(cx - 1, cx + 1), yRange=(cy - 1, cy + 1), padding=0)
    QApplication.processEvents()
    rings = pg.ScatterPlotItem(x=[cx, cx + 0.5, cx + 9], y=[cy, cy, cy], size=9, symbol="o")
    view.vb.addItem(rings, ignoreBounds=True)
    window.walk.walk_between(window.walk.test_image_end(3), window.walk.test_image_end(7))
    path_before = [a.copy() for a in window.walk_path_item.getData()]
    axes = [view.plot.getPlotItem().getAxis(s) for s in ("left", "bottom")]
    modes = [a.cacheMode() for a in axes]
    with clipped_for_svg(view):
        assert rings.isVisible() and rings._exportOpts is not False
    assert rings._exportOpts is False and [a.cacheMode() for a in axes] == modes
    for before, after in zip(path_before, window.walk_path_item.getData(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert window.export_view(tmp_path / "marks.svg")
    assert "<image" not in (tmp_path / "marks.svg").read_text()


def test_an_unsaved_model_is_offered_a_name_of_its_kind(window, monkeypatch):
    """An M2 model was offered "mnist-z2.safetensors", a VAE's name."""
    from vae_explorer.core.labelled import LabelledConfig
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    offered: list[str] = []
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: offered.append(a[2]) or "")
    state = window.state
    state.set_model(VAE(VAEConfig(latent_dim=2, hidden_dim=16)), {"dataset": "mnist"}, None)
    window.menus.save.trigger()
    config = LabelledConfig(hidden_dim=16, classifier_hidden_dim=16)
    state.set_model(ExplorerLabelledModel(config), {"dataset": "mnist"}, None)
    window.menus.save.trigger()
    names = [Path(p).name for p in offered]
    assert names == ["mnist-z2.safetensors", f"m2-mnist-z{config.latent_dim}.safetensors"]


def test_save_never_starts_in_the_shipped_models_folder(window, monkeypatch):
    """Opened from the shipped folder, Save offered that model's own name there: one click
    from overwriting a shipped model. Open still starts there."""
    from vae_explorer.gui.window.datasets import SHIPPED_MODELS, shipped_model_for

    shipped = shipped_model_for("mnist")
    if shipped is None:
        pytest.skip("no shipped MNIST model")
    offered: list[str] = []
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: offered.append(a[2]) or "")
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *a, **k: offered.append(a[2]) or "")
    assert window.open_model(shipped)
    window.settings.setValue("paths/last_dir", str(SHIPPED_MODELS))  # (opened through the dialog)
    window.menus.save.trigger()
    window.menus.open.trigger()
    assert Path(offered[0]).parent.resolve() != SHIPPED_MODELS.resolve()
    assert Path(offered[0]).name == shipped.name
    assert Path(offered[1]).resolve() == SHIPPED_MODELS.resolve()


def test_a_model_whose_finite_weights_overflow_is_refused(window, tmp_path):
    """One flipped exponent bit (0.0185 -> 6.3e36) loads as finite weights: the window drew
    NaN everywhere and imputation failed deep in torch. The probe refuses it by name."""
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    with torch.no_grad():
        model.enc_logvar.weight[0, 3] = 6.3e36  # (a log-variance of ~1e36: exp overflows)
    path = tmp_path / "flipped.safetensors"
    save_checkpoint(model, path, {"dataset": "mnist"})
    before = window.state.model
    assert not window.open_model(path)
    assert window.state.model is before
    assert "flipped.safetensors: the encoder gives non-finite values" in (window.last_error or "")


@pytest.mark.parametrize("answer", ["Yes", "No"])
def test_a_name_typed_without_its_suffix_does_not_replace_a_file_unasked(
    window, monkeypatch, tmp_path, answer
):
    """Typed "notes", saved as notes.safetensors: Qt's dialog asks about "notes" only, and an
    existing notes.safetensors (another model, or anything else) was replaced silently."""
    from PySide6.QtWidgets import QMessageBox

    victim = tmp_path / "notes.safetensors"
    victim.write_text("important notes")
    dialogs: list[str] = []

    def ask(_parent, _title, start, _filters):
        dialogs.append(Path(start).name)
        return str(tmp_path / "notes") if len(dialogs) == 1 else ""

    questions: list[str] = []

    def question(_parent, _title, text, *args):
        questions.append(text)
        return getattr(QMessageBox.StandardButton, answer)

    monkeypatch.setattr(file_dialogs, "save_file_name", ask)
    monkeypatch.setattr(QMessageBox, "question", question)
    saved = window.menus.save_as_interactively()
    assert len(questions) == 1 and "notes.safetensors already exists" in questions[0]
    if answer == "Yes":
        assert saved and load_checkpoint(victim).model is not None
    else:  # the dialog again, at the completed name; cancelled there: nothing written
        assert not saved and victim.read_text() == "important notes"
        assert dialogs == ["small.safetensors", "notes.safetensors"]


def test_a_file_name_with_a_nul_character_is_told_not_raised(window, monkeypatch, tmp_path):
    """(From a script or explore(): Python's ValueError escaped every file action.)"""
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "show_error", lambda title, text: told.append((title, text)))
    bad = str(tmp_path / "x\x00y")
    assert not window.open_model(bad + ".safetensors")
    assert not window.save_model(bad + ".safetensors")
    assert not window.export_view(bad + ".png")
    assert not window.export_latents(bad + ".csv")
    assert len(told) == 4 and all("NUL character" in text and "\x00" not in text for _, text in told)

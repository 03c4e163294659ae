"""The panels' exports (Walk's PNG and GIF, Traversal's grid, Timeline's animation) ask for
their file as File ▸ Export view does: in the folder used last, under the model's name."""

from __future__ import annotations

from pathlib import Path

from vae_explorer.gui.window import file_dialogs


def test_panel_exports_start_where_the_last_export_went_under_the_models_name(
    make_window, history_checkpoint, monkeypatch, tmp_path
):
    """They started in the home folder, even after an export elsewhere, as "walk.gif",
    "traversal.png" and "training.gif"."""
    window = make_window(history_checkpoint[0])
    offered: list[Path] = []
    answer = {"path": ""}

    def ask(_parent, _title, start, _filters):
        offered.append(Path(start))
        return answer["path"]

    monkeypatch.setattr(file_dialogs, "save_file_name", ask)
    walk = window.walk
    walk.walk_between(walk.test_image_end(0), walk.test_image_end(1))
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    answer["path"] = str(elsewhere / "mine.gif")
    walk.gif_button.click()
    assert (elsewhere / "mine.gif").is_file()
    answer["path"] = ""  # (cancelled from here on: only the offers count)
    walk.png_button.click()
    window.traversal.exportRequested.emit()
    window.timeline.export_button.click()
    window.menus.export_png.trigger()
    stem = Path(window.state.model_path).stem
    assert offered[0].name == f"{stem}-walk.gif" and offered[0].parent != Path.home()
    names = [p.name for p in offered[1:]]
    assert names == [f"{stem}-walk.png", f"{stem}-traversal.png", f"{stem}-training.gif", f"{stem}-view.png"]
    assert all(p.parent == elsewhere for p in offered[1:]), offered  # File ▸ Export view's too


def test_a_file_menu_export_folder_is_where_the_panels_start(window, monkeypatch, tmp_path):
    offered: list[Path] = []
    chosen = tmp_path / "views" / "view.png"
    chosen.parent.mkdir()
    monkeypatch.setattr(
        file_dialogs, "save_file_name", lambda *a, **k: offered.append(Path(a[2])) or str(chosen)
    )
    window.menus.export_png.trigger()
    monkeypatch.setattr(file_dialogs, "save_file_name", lambda *a, **k: offered.append(Path(a[2])) or "")
    window.traversal.exportRequested.emit()
    assert offered[1].parent == chosen.parent

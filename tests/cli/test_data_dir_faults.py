"""--data-dir faults: an empty folder name is an argument error naming the option (it used to
train on MNIST, or read the current folder); a folder that cannot be looked into exits 2
with the folder and the reason (it used to exit 1 with a bare "Permission denied")."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from cli_helpers import run_cli

from vae_explorer.cli import build_parser


@pytest.mark.parametrize("command", ["train", "eval"])
def test_an_empty_data_dir_is_an_argument_error(command, checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = (
        ["train", "--out", str(tmp_path / "m.safetensors")]
        if command == "train"
        else ["eval", str(checkpoint)]
    )
    code, err = run_cli([*args, "--data-dir", ""], capsys)
    assert code == 2 and "argument --data-dir: an empty folder name" in err, err
    assert not (tmp_path / "m.safetensors").exists()


def test_a_data_dir_named_like_a_dataset_is_that_folder():
    parser = build_parser()
    for name in ("mnist", "your images"):
        args = parser.parse_args(["eval", "m.safetensors", "--data-dir", name])
        assert Path(args.data_dir) == Path(name) and args.data_dir != name  # "./mnist"
    assert parser.parse_args(["eval", "m.safetensors", "--data-dir", "/d"]).data_dir == "/d"


def test_a_data_dir_that_cannot_be_looked_into_exits_2_naming_it(
    checkpoint, make_idx_folder, capsys, monkeypatch
):
    folder = make_idx_folder(20, 10)
    real_stat = Path.stat

    def stat(self, *args, **kwargs):  # as under another user's mode-700 folder
        if self == folder or folder in self.parents:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    code, err = run_cli(["eval", str(checkpoint), "--data-dir", str(folder)], capsys)
    assert code == 2, err
    assert f"error: {folder}: cannot open the folder (permission denied)" in err and "Traceback" not in err

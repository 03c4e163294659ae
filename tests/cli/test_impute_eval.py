"""`vae-explorer impute-eval`: the table comes out with every row, and bad input is refused."""

from __future__ import annotations

import re

import pytest

from vae_explorer.cli import main
from vae_explorer.core.data import SPLIT_FILES, write_idx


@pytest.fixture
def data_dir(tmp_path, mnist_test):
    """A small folder of the four IDX files (real digits), so the classifier trains fast."""
    folder = tmp_path / "data"
    folder.mkdir()
    for split, (start, n) in (("train", (0, 1500)), ("test", (1500, 100))):
        img, lab = SPLIT_FILES[split]
        write_idx(folder / f"{img}.gz", mnist_test.images[start : start + n])
        write_idx(folder / f"{lab}.gz", mnist_test.labels[start : start + n])
    return folder


def test_prints_a_row_per_method_and_the_reference_rows(checkpoint, data_dir, capsys):
    code = main(["impute-eval", str(checkpoint), "--data-dir", str(data_dir), "--n", "40",
                 "--steps", "3", "--samples", "8"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "40 images" in out and "mask middle_rows (280 of 784 pixels missing)" in out
    for name in ("complete", "masked", "single", "pseudo_gibbs", "mwg", "importance"):
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        mse = float(row.split()[1])
        assert 0 <= mse <= 1
        assert re.search(r"\d+\.\d\d%", row)  # an accuracy
    assert "acceptance" in out and "ESS" in out


def test_method_subset_random_mask_and_mean_fill(checkpoint, data_dir, capsys):
    code = main(["impute-eval", str(checkpoint), "--data-dir", str(data_dir), "--n", "10",
                 "--methods", "single,importance", "--mask", "random", "--fraction", "0.25",
                 "--fill", "mean", "--samples", "8"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "196 of 784" in out
    assert "importance" in out and "mwg" not in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--methods", "single,magic"], "unknown method"), (["--fraction", "2"], "between 0 and 1")],
)
def test_bad_options_are_clean_errors(checkpoint, data_dir, extra, message, capsys):
    code = main(["impute-eval", str(checkpoint), "--data-dir", str(data_dir), *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main(["impute-eval", str(bad)]) == 2
    assert "error" in capsys.readouterr().err

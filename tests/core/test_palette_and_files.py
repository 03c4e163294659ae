"""Picture arrays, the one class palette, the one uint8 conversion and PNG files."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core import figures
from vae_explorer.core.figures import CLASS_PALETTE, class_colours
from vae_explorer.core.files import atomic_path
from vae_explorer.core.image import IMAGE_PIXELS, IMAGE_SIDE, as_float_images, to_uint8


def test_figure_colours_are_the_class_palette():
    assert len(CLASS_PALETTE) == 10 and len(set(CLASS_PALETTE)) == 10
    colours = class_colours(12)
    assert colours.shape == (12, 3) and colours.dtype == np.uint8
    as_hex = ["#" + "".join(f"{int(v):02x}" for v in c) for c in colours]
    assert as_hex[:10] == list(CLASS_PALETTE)
    assert as_hex[10:] == list(CLASS_PALETTE[:2])  # repeats after ten
    assert not hasattr(figures, "CLASS_COLOURS")  # no second palette


def test_to_uint8_is_the_one_conversion():
    a = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]], np.float32)
    assert to_uint8(a).tolist() == [[0, 0, 128, 255, 255]]
    u = np.arange(6, dtype=np.uint8).reshape(2, 3)[:, ::2]
    out = to_uint8(u)
    assert out.dtype == np.uint8 and out.flags.c_contiguous and out.tolist() == u.tolist()
    assert (IMAGE_SIDE, IMAGE_PIXELS) == (28, 784)
    f = as_float_images(np.full((2, IMAGE_PIXELS), 255, np.uint8))
    assert f.shape == (2, 28, 28) and f.dtype == np.float32 and f.max() == 1.0


def test_atomic_path_replaces_the_target_only_when_complete(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible until the block ends
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "new"  # the failed write destroyed nothing
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # and left no temporary file


def test_atomic_path_to_a_missing_folder_fails_before_writing(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "nowhere" / "x.png"):
        raise AssertionError("the block must not run")

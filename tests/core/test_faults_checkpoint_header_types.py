"""Every value of a safetensors header that the reader uses as a key or a number is type-
checked first: a dtype that is a JSON list, a shape of booleans, data_offsets that are
strings, a format_version that is a JSON number... each is a CheckpointError naming the
tensor (or the metadata value) and what is wrong, never a TypeError, ValueError or
OverflowError, and `vae-explorer eval` says so with exit 2."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoint_file import CheckpointError, read_arrays
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.history import TrainingHistory
from vae_explorer.core.model import VAE, VAEConfig

ARRAY = "arrays/test_mu"


def _write(path, header, body):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


@pytest.fixture
def sound(tmp_path):
    """(header, tensor bytes) of a small checkpoint with one array, for editing."""
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    arrays = {"test_mu": np.zeros((3, 2), np.float32), "test_logvar": np.zeros((3, 2), np.float32)}
    path = save_checkpoint(model, tmp_path / "sound.safetensors", {"dataset": "mnist"}, arrays=arrays)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _entry(key, value):
    return lambda h: h[ARRAY].__setitem__(key, value)


def _meta(key, value):
    return lambda h: h["__metadata__"].__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_entry("dtype", ["F32"]), "dtype"),
        (_entry("dtype", {"a": 1}), "dtype"),
        (_entry("dtype", 4), "dtype"),
        (_entry("dtype", None), "dtype"),
        (_entry("shape", [True, True]), "shape"),
        (_entry("shape", "3x2"), "shape"),
        (_entry("shape", [3.0, 2]), "shape"),
        (_entry("shape", [[3], 2]), "shape"),
        (_entry("data_offsets", ["0", "24"]), "data_offsets"),
        (_entry("data_offsets", [False, True]), "data_offsets"),
        (_entry("data_offsets", {"start": 0}), "data_offsets"),
        (lambda h: h.__setitem__(ARRAY, ["F32", [3, 2]]), "a list"),
        (lambda h: h.__setitem__(ARRAY, "F32"), "a string"),
        (_meta("format_version", float("inf")), "format_version"),
        (_meta("format_version", 1.5), "format_version"),
        (_meta("format_version", ["1"]), "format_version"),
    ],
)
def test_mistyped_header_values_are_named_not_crashed_on(tmp_path, sound, edit, words):
    header, body = sound
    edit(header)
    path = tmp_path / "bad.safetensors"
    _write(path, header, body)
    for read in (read_arrays, load_checkpoint, TrainingHistory.read):
        with pytest.raises(CheckpointError, match=words) as caught:
            read(path)
        if "format_version" not in words:
            assert repr(ARRAY) in str(caught.value)


def test_eval_reports_a_list_dtype_as_bad_input(tmp_path, sound, capsys):
    header, body = sound
    header[ARRAY]["dtype"] = ["F32"]
    path = tmp_path / "bad.safetensors"
    _write(path, header, body)
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert "dtype" in err and ARRAY in err and "TypeError" not in err and "bug" not in err


@pytest.mark.parametrize("shape", [[0, 10**40], [0, 2**62, 2**62], [0] * 70, [0, True]])
def test_an_empty_array_of_impossible_shape_is_refused(tmp_path, sound, shape):
    """An empty tensor's zero size says nothing of its other dimensions: numpy cannot make
    an array of them (ValueError), so they are bounded before."""
    header, body = sound
    header["arrays/empty"] = {"dtype": "F32", "shape": shape, "data_offsets": [len(body)] * 2}
    path = tmp_path / "empty.safetensors"
    _write(path, header, body)
    with pytest.raises(CheckpointError, match="shape") as caught:
        read_arrays(path)
    assert "'arrays/empty'" in str(caught.value)


def test_an_empty_array_with_ordinary_dimensions_still_loads(tmp_path, sound):
    header, body = sound
    header["arrays/empty"] = {"dtype": "F32", "shape": [0, 5], "data_offsets": [len(body)] * 2}
    path = tmp_path / "empty.safetensors"
    _write(path, header, body)
    _, arrays = read_arrays(path)
    assert arrays["empty"].shape == (0, 5)

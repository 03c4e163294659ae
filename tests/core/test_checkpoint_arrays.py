"""Named arrays kept with a checkpoint's weights, readable without torch."""

import subprocess
import sys

import numpy as np
import pytest
from checkpoint_files import rewrite_header

from vae_explorer.core.checkpoint_file import read_arrays
from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {
        "test_mu": rng.normal(size=(50, 2)).astype(np.float16),
        "history/epochs": np.arange(1, 4, dtype=np.int64),
        "history/mu": rng.normal(size=(3, 50, 2)).astype(np.float32),
    }


def test_arrays_round_trip_with_their_dtypes(tmp_path, tiny_model, arrays):
    path = save_checkpoint(tiny_model, tmp_path / "a.safetensors", {"dataset": "mnist"}, arrays)
    loaded = load_checkpoint(path)
    assert set(loaded.arrays) == set(arrays)
    for name, value in arrays.items():
        assert loaded.arrays[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded.arrays[name], value)
    metadata, only = read_arrays(path, ["test_mu"])
    assert metadata["dataset"] == "mnist" and list(only) == ["test_mu"]
    np.testing.assert_array_equal(only["test_mu"], arrays["test_mu"])


def test_a_checkpoint_without_arrays_has_none(tmp_path, tiny_model):
    path = save_checkpoint(tiny_model, tmp_path / "plain.safetensors")
    assert load_checkpoint(path).arrays == {}
    assert read_arrays(path)[1] == {}


def test_read_arrays_does_not_import_torch(tmp_path, tiny_model, arrays):
    path = save_checkpoint(tiny_model, tmp_path / "a.safetensors", None, arrays)
    code = (
        "import sys\n"
        "from vae_explorer.core.checkpoint_file import read_arrays\n"
        f"meta, arrays = read_arrays({str(path)!r})\n"
        "assert arrays['history/mu'].shape == (3, 50, 2)\n"
        "sys.exit(3 if 'torch' in sys.modules else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("bad name!", np.zeros(2), "array name"),
        ("strings", np.array(["a"]), "not numeric"),
    ],
)
def test_unstorable_arrays_are_named(tmp_path, tiny_model, name, value, message):
    with pytest.raises(CheckpointError, match=message):
        save_checkpoint(tiny_model, tmp_path / "x.safetensors", None, {name: value})


def test_an_array_of_a_dtype_numpy_cannot_read_is_refused(tmp_path, tiny_model, arrays):
    path = save_checkpoint(tiny_model, tmp_path / "a.safetensors", None, {"x": np.zeros(4, np.float16)})

    def to_bf16(header):
        header["arrays/x"]["dtype"] = "BF16"

    rewrite_header(path, to_bf16)
    with pytest.raises(CheckpointError, match="arrays/x.*BF16"):
        read_arrays(path)
    with pytest.raises(CheckpointError, match="arrays/x.*BF16"):
        load_checkpoint(path)

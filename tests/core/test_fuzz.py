"""Property-based fuzzing: mutated valid files give only the project's own clear errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.data import DatasetError, IDXError, read_idx, write_idx
from vae_explorer.core.model import VAE, VAEConfig

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_idx() -> bytes:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    return bytes([0, 0, 8, 3]) + np.asarray(arr.shape, ">u4").tobytes() + arr.tobytes()


VALID_IDX = _valid_idx()


@st.composite
def mutated(draw, original: bytes):
    """Flip bytes, cut or extend the file, or rewrite header words."""
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "header", "append"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "header" and len(data) >= 4:
            i = draw(st.integers(0, min(len(data), 16) - 1))
            data[i : i + 4] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "append":
            data += draw(st.binary(max_size=64))
    return bytes(data)


def _read_or_clean_error(path: Path) -> None:
    try:
        arr = read_idx(path)
    except IDXError as exc:
        assert exc.path == str(path) and exc.fault
        return
    assert isinstance(arr, np.ndarray)


@FUZZ
@given(data=mutated(VALID_IDX))
def test_idx_reader_on_mutated_raw_files(tmp_path, data):
    path = tmp_path / "fuzz-idx3-ubyte"
    path.write_bytes(data)
    _read_or_clean_error(path)


@FUZZ
@given(data=st.one_of(mutated(VALID_IDX).map(gzip.compress), mutated(gzip.compress(VALID_IDX))))
def test_idx_reader_on_mutated_gzip_files(tmp_path, data):
    path = tmp_path / "fuzz-idx3-ubyte.gz"
    path.write_bytes(data)
    _read_or_clean_error(path)


def _valid_checkpoint(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ck") / "small.safetensors"
    save_checkpoint(VAE(VAEConfig(latent_dim=1, hidden_dim=1)), path, {"dataset": "mnist"})
    return path.read_bytes()


@pytest.fixture(scope="module")
def valid_checkpoint(tmp_path_factory) -> bytes:
    return _valid_checkpoint(tmp_path_factory)


@FUZZ
@given(st.data())
def test_checkpoint_loader_on_mutated_files(tmp_path, valid_checkpoint, data):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(data.draw(mutated(valid_checkpoint)))
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(path) in str(exc)
        return
    assert all(torch.isfinite(p).all() for p in ckpt.model.parameters())


def test_fuzz_inputs_really_are_valid_before_mutation(tmp_path, valid_checkpoint):
    """Guards the fuzz tests: an unmutated file must load, or they would test nothing."""
    (tmp_path / "a").write_bytes(VALID_IDX)
    assert read_idx(tmp_path / "a").shape == (3, 28, 28)
    write_idx(tmp_path / "b.gz", np.zeros((2, 28, 28), np.uint8))
    assert read_idx(tmp_path / "b.gz").shape == (2, 28, 28)
    (tmp_path / "c.safetensors").write_bytes(valid_checkpoint)
    assert load_checkpoint(tmp_path / "c.safetensors").config.hidden_dim == 1
    assert issubclass(IDXError, DatasetError)

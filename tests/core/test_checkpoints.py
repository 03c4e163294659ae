"""Checkpoints: a faithful round trip, atomic saves, and a clear refusal of anything else."""

import json
import os
import pickle
import struct
import tempfile
from pathlib import Path

import pytest
import torch
from checkpoint_files import rewrite_header

from vae_explorer.core import checkpoints as ck
from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


@pytest.fixture
def saved(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_checkpoint(tiny_model, path, {"dataset": "mnist", "test_metrics": {"elbo": -150.5}})
    return path


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_round_trip_keeps_weights_config_and_metadata(tmp_path, arch):
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=16, likelihood="gaussian", arch=arch))
    path = save_checkpoint(model, tmp_path / "x.safetensors", {"dataset": "fashion-mnist",
                                                                "history": [{"epoch": 1}]})  # fmt: skip
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert loaded.metadata["dataset"] == "fashion-mnist"
    assert loaded.metadata["history"] == [{"epoch": 1}]
    assert loaded.metadata["format_version"] == ck.FORMAT_VERSION
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k])
    assert not loaded.model.training


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_every_low_byte_of_the_header_length_loads(tmp_path, tiny_model):
    """The first byte of a safetensors file is the low byte of its header length: a file
    whose header is 0x80 (pickle's magic) or b"P" long is still a checkpoint."""
    first_bytes = set()
    for pad in range(0, 264):
        path = save_checkpoint(tiny_model, tmp_path / "m.safetensors", {"note": "x" * pad})
        first_bytes.add(path.read_bytes()[0])
        assert load_checkpoint(path).metadata["note"] == "x" * pad
    assert {0x80, ord("P")} <= first_bytes  # headers are padded to multiples of 8


def test_saved_file_gets_normal_permissions(tmp_path, tiny_model):
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(bad)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_a_torch_save_file_is_refused(tmp_path, tiny_model):
    bad = tmp_path / "model.pt"
    torch.save(tiny_model.state_dict(), bad)
    with pytest.raises(CheckpointError, match="zip archive|pickle"):
        load_checkpoint(bad)


@pytest.mark.parametrize("keep", [0, 5, 8, 100, -1000, -1])
def test_truncated_files(saved, keep):
    raw = saved.read_bytes()
    saved.write_bytes(raw[:keep])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(saved)
    assert str(saved) in str(info.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h.pop("__metadata__"), "not a VAE Explorer checkpoint"),
        (lambda h: h["__metadata__"].update(format="other"), "not a VAE Explorer checkpoint"),
        (lambda h: h["__metadata__"].update(format_version="999"), "newer VAE Explorer"),
        (lambda h: h["__metadata__"].update(format_version="x"), "format_version"),
        (lambda h: h["__metadata__"].pop("config"), "no model config"),
        (lambda h: h["__metadata__"].update(config="{not json"), "not JSON"),
        (lambda h: h["__metadata__"].update(config='{"latent_dim": 0}'), "invalid model config"),
        (lambda h: h["__metadata__"].update(config='{"latent_dim": 3, "hidden_dim": 32}'), "shape"),
        (lambda h: h["__metadata__"].update(config='{"latent_dim": 2, "hidden_dim": 32, "arch": "conv"}'),
         "do not match"),
        (lambda h: h.pop("dec_out.bias"), "corrupt tensor data"),
    ],
)  # fmt: skip
def test_wrong_metadata_or_shapes(saved, edit, message):
    rewrite_header(saved, edit)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(saved)


def test_valid_safetensors_with_a_missing_tensor(tmp_path, tiny_model):
    from safetensors.torch import save_file

    tensors = dict(tiny_model.state_dict())
    tensors.pop("enc_mu.bias")
    meta = {"format": "vae-explorer", "format_version": "1",
            "config": json.dumps(tiny_model.config.to_dict())}  # fmt: skip
    save_file(tensors, tmp_path / "m.safetensors", metadata=meta)
    with pytest.raises(CheckpointError, match=r"missing \['enc_mu.bias'\]"):
        load_checkpoint(tmp_path / "m.safetensors")


def test_non_finite_weights_are_refused(tmp_path, tiny_model):
    with torch.no_grad():
        tiny_model.dec_out.bias[0] = float("nan")
    path = save_checkpoint(tiny_model, tmp_path / "nan.safetensors")
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(path)


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_failed_save_leaves_the_previous_file_intact(saved, tiny_model, monkeypatch):
    before = saved.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.os, "fsync", full_disk)
    torch.nn.init.zeros_(tiny_model.dec_out.bias)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(tiny_model, saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temp file left behind


def test_interrupted_mid_write_leaves_previous_file_and_no_temp(saved, tiny_model, monkeypatch):
    before = saved.read_bytes()
    real_write_bytes = Path.write_bytes

    def interrupted(self, data):
        real_write_bytes(self, data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tiny_model, saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_save_to_read_only_folder(tmp_path, tiny_model, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:  # root ignores folder permissions: make the OS answer as it would

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        with pytest.raises(CheckpointError, match="cannot save .*Permission denied"):
            save_checkpoint(tiny_model, ro / "m.safetensors")
    finally:
        ro.chmod(0o700)


def test_save_into_missing_folder_is_a_clear_error(tmp_path, tiny_model):
    with pytest.raises(CheckpointError, match="cannot save"):
        save_checkpoint(tiny_model, tmp_path / "no" / "such" / "m.safetensors")


def test_hostile_config_is_refused_before_allocating(saved):
    rewrite_header(saved, lambda h: h["__metadata__"].update(config='{"hidden_dim": 16000}'))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(saved)
    rewrite_header(saved, lambda h: h["__metadata__"].update(config='{"hidden_dim": 10000000}'))
    with pytest.raises(CheckpointError, match="at most"):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h["__metadata__"].update(note="[" * 100_000),
        lambda h: h["__metadata__"].update(note="9" * 5000),
        "huge-offset",
    ],
)
def test_absurd_json_gives_a_clean_error_or_loads(saved, edit):
    if edit == "huge-offset":  # a 5000-digit integer: Python's int parser refuses it
        raw = saved.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        header = raw[8 : 8 + n].replace(b'"data_offsets":[0,', b'"data_offsets":[' + b"9" * 5000 + b",", 1)
        assert b"9" * 5000 in header
        saved.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n :])
    else:
        rewrite_header(saved, edit)
    try:
        load_checkpoint(saved)
    except CheckpointError:
        pass


def test_non_float_tensors_are_refused(tmp_path, tiny_model):
    from safetensors.torch import save_file

    tensors = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    tensors["enc_mu.bias"] = tensors["enc_mu.bias"].to(torch.float8_e4m3fn)
    meta = {"format": "vae-explorer", "format_version": "1",
            "config": json.dumps(tiny_model.config.to_dict())}  # fmt: skip
    save_file(tensors, tmp_path / "m.safetensors", metadata=meta)
    with pytest.raises(CheckpointError, match="dtype"):
        load_checkpoint(tmp_path / "m.safetensors")


def test_metadata_types_survive_the_round_trip(tmp_path, tiny_model):
    import numpy as np

    meta = {"note": "42", "flag": "true", "title": "null", "n": np.int64(3), "xs": np.arange(3)}
    loaded = load_checkpoint(save_checkpoint(tiny_model, tmp_path / "m.safetensors", meta)).metadata
    assert loaded["note"] == "42" and loaded["flag"] == "true" and loaded["title"] == "null"
    assert loaded["n"] == 3 and loaded["xs"] == [0, 1, 2]
    with pytest.raises(CheckpointError, match="cannot be stored"):
        save_checkpoint(tiny_model, tmp_path / "x.safetensors", {"bad": object()})


@pytest.mark.parametrize("keep", [9, 40, 100])
def test_a_file_cut_inside_its_header_says_truncated(saved, keep):
    """Not "not a safetensors checkpoint": the start of the header is there, the rest is not."""
    saved.write_bytes(saved.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match="truncated inside its header"):
        load_checkpoint(saved)

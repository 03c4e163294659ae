"""Checkpoint faults fed for real: a file rewritten while it loads, a memory limit, hostile
headers, overflowing float64 weights, things that are not files, and saves that must keep
a file's mode, refuse read-only files and write through symlinks."""

from __future__ import annotations

import json
import os
import random
import stat
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoint_files import remount_read_only, rewrite_header, tmpfs

from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


@pytest.fixture
def saved(tmp_path, tiny_model):
    return save_checkpoint(tiny_model, tmp_path / "m.safetensors", {"dataset": "mnist"})


def _model(hidden: int) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=2, hidden_dim=hidden))


def test_a_file_rewritten_during_loads_is_an_error_never_a_crash(tmp_path):
    """Memory-mapped loading died with SIGBUS when the file shrank under it; read into
    memory, every load either succeeds or raises CheckpointError, and the process lives."""
    path = save_checkpoint(_model(1024), tmp_path / "big.safetensors")
    raw = path.read_bytes()
    loader = textwrap.dedent(
        f"""
        from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint
        ok = refused = 0
        for _ in range(80):
            try:
                load_checkpoint({str(path)!r})
                ok += 1
            except CheckpointError:
                refused += 1
        print("done", ok, refused)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", loader], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    rng = random.Random(0)
    rewrites = 0
    while proc.poll() is None:  # truncate and rewrite in place, as the probe did
        with open(path, "r+b") as f:
            f.write(raw)
            f.flush()
            f.truncate(rng.randrange(0, len(raw)))
        rewrites += 1
    out, err = proc.communicate()
    assert proc.returncode == 0, f"loader died with {proc.returncode}: {err[-2000:]}"
    done, ok, refused = out.split()
    assert done == "done" and int(ok) + int(refused) == 80
    assert int(refused) > 0 and rewrites > 0  # the fault really was fed


def test_a_checkpoint_larger_than_the_memory_limit_is_refused(tmp_path):
    big = save_checkpoint(_model(4096), tmp_path / "big.safetensors")  # ~26 MB of weights
    small = save_checkpoint(_model(16), tmp_path / "small.safetensors")
    script = textwrap.dedent(
        f"""
        import resource
        from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint
        load_checkpoint({str(small)!r})  # every lazy import done before the limit
        size = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + (8 << 20), resource.RLIM_INFINITY))
        try:
            load_checkpoint({str(big)!r})
            print("loaded")
        except CheckpointError as exc:
            print("refused:", exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "not enough memory" in done.stdout, done.stdout


def test_a_header_declaring_a_million_tensors_is_refused_unparsed(tmp_path, monkeypatch):
    import vae_explorer.core.checkpoints as ck

    entries = ",".join(f'"t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}' for i in range(1_000_000))
    body = ('{"__metadata__":{"format":"vae-explorer"},' + entries + "}").encode()
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    parsed, real_loads = [], json.loads
    monkeypatch.setattr(ck.json, "loads", lambda *a, **k: parsed.append(1) or real_loads(*a, **k))
    with pytest.raises(CheckpointError, match="header declares .* bytes|tensors"):
        load_checkpoint(path)
    assert not parsed  # refused from its size and count, before any JSON was decoded


def test_a_header_with_too_many_tensors_within_the_size_cap_is_refused(tmp_path, monkeypatch):
    import vae_explorer.core.checkpoints as ck

    entries = ",".join(f'"t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}' for i in range(5000))
    body = ('{"__metadata__":{"format":"vae-explorer"},' + entries + "}").encode()
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    parsed, real_loads = [], json.loads
    monkeypatch.setattr(ck.json, "loads", lambda *a, **k: parsed.append(1) or real_loads(*a, **k))
    with pytest.raises(CheckpointError, match="5,000 tensors"):
        load_checkpoint(path)
    assert not parsed


def test_float64_weights_that_overflow_float32_are_refused(tmp_path, tiny_model):
    from safetensors.torch import save_file

    tensors = {k: v.to(torch.float64) for k, v in tiny_model.state_dict().items()}
    tensors["dec_out.bias"][3] = 1e300  # finite in float64, inf in the model's float32
    meta = {
        "format": "vae-explorer",
        "format_version": "1",
        "config": json.dumps(tiny_model.config.to_dict()),
    }
    save_file(tensors, tmp_path / "f64.safetensors", metadata=meta)
    with pytest.raises(CheckpointError, match="dec_out.bias.*1 value.*too large for float32"):
        load_checkpoint(tmp_path / "f64.safetensors")
    tensors["dec_out.bias"][3] = 0.5  # in range: loads, in float32
    save_file(tensors, tmp_path / "ok.safetensors", metadata=meta)
    loaded = load_checkpoint(tmp_path / "ok.safetensors").model
    assert loaded.dec_out.bias.dtype == torch.float32 and float(loaded.dec_out.bias[3].detach()) == 0.5


def test_loaded_weights_are_trainable_parameters(saved, tiny_model):
    model = load_checkpoint(saved).model
    assert all(p.requires_grad and p.device.type == "cpu" for p in model.parameters())
    for name, value in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], value)
    model.train()
    loss = model.decode(torch.zeros(1, 2)).sum()
    loss.backward()
    assert model.dec_out.weight.grad is not None


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_things_that_are_not_files_are_named_for_what_they_are(tmp_path, kind):
    if kind == "folder":
        path, expected = tmp_path / "dir.safetensors", "a folder"
        path.mkdir()
    elif kind == "fifo":
        path, expected = tmp_path / "pipe.safetensors", "named pipe"
        os.mkfifo(path)  # opening it for reading would block forever: it must not be opened so
    else:
        path, expected = Path("/dev/zero"), "character device"
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(path)


def test_a_non_utf8_path_loads_and_is_reported_printably(tmp_path, tiny_model):
    name = os.fsdecode(b"caf\xe9-\xff.safetensors")  # Latin-1 bytes: not UTF-8
    path = save_checkpoint(tiny_model, tmp_path / name)
    assert load_checkpoint(path).config == tiny_model.config
    assert load_checkpoint(os.fsencode(path)).config == tiny_model.config  # bytes paths too
    path.write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "caf\\xe9-\\xff.safetensors" in message and "corrupt tensor data" not in message
    message.encode("utf-8")  # printable: no lone surrogates


def test_resaving_keeps_the_files_mode(saved, tiny_model):
    saved.chmod(0o600)
    save_checkpoint(tiny_model, saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    saved.chmod(0o640)
    save_checkpoint(tiny_model, saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o640


def test_a_read_only_file_is_refused_and_left_alone(saved, tiny_model):
    before = saved.read_bytes()
    saved.chmod(0o444)
    torch.nn.init.zeros_(tiny_model.dec_out.bias)
    with pytest.raises(CheckpointError, match="read-only.*unchanged"):
        save_checkpoint(tiny_model, saved)  # refused even for root, who could write it
    assert saved.read_bytes() == before and stat.S_IMODE(saved.stat().st_mode) == 0o444
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_saving_through_a_symlink_updates_its_target(tmp_path, tiny_model):
    real = tmp_path / "models" / "real.safetensors"
    real.parent.mkdir()
    save_checkpoint(tiny_model, real)
    link = tmp_path / "current.safetensors"
    link.symlink_to(real)
    torch.nn.init.zeros_(tiny_model.dec_out.bias)
    save_checkpoint(tiny_model, link)
    assert link.is_symlink() and link.resolve() == real
    assert float(load_checkpoint(real).model.dec_out.bias.detach().abs().sum()) == 0.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.safetensors", "models"]


def test_a_full_disk_leaves_the_old_checkpoint_and_no_temporary_file(tmp_path):
    with tmpfs(tmp_path / "full", size_kb=256) as disk:
        old = save_checkpoint(_model(8), disk / "m.safetensors")
        before = old.read_bytes()
        with pytest.raises(CheckpointError, match="No space left on device.*unchanged"):
            save_checkpoint(_model(256), old)  # ~800 KB: does not fit
        assert old.read_bytes() == before
        assert [p.name for p in disk.iterdir()] == ["m.safetensors"]


def test_a_read_only_file_system_is_a_clear_error(tmp_path, tiny_model):
    with tmpfs(tmp_path / "ro") as disk:
        old = save_checkpoint(tiny_model, disk / "m.safetensors")
        remount_read_only(disk)
        with pytest.raises(CheckpointError, match="Read-only file system"):
            save_checkpoint(tiny_model, old)
        assert load_checkpoint(old).config == tiny_model.config


def test_a_header_bigger_than_the_cap_is_refused_before_it_is_read(saved):
    rewrite_header(saved, lambda h: h["__metadata__"].update(note="x" * (17 << 20)))
    with pytest.raises(CheckpointError, match="at most 16,777,216 are accepted"):
        load_checkpoint(saved)


@pytest.mark.parametrize("reader", ["load_checkpoint", "read_arrays"])
def test_a_file_that_grows_between_two_looks_at_its_size_is_an_error_never_an_oserror(
    tmp_path, monkeypatch, reader
):
    """The loader looks at the file's size before reading and the header reader again: the
    data is placed by the header's own look, so a file rewritten in between (seen first
    short, then whole) is refused as changed, not read from a negative offset (the OSError
    "Invalid argument" a concurrent rewrite once raised)."""
    from vae_explorer.core import checkpoint_file

    arrays = {"z": np.zeros((5, 2), np.float32)}
    path = save_checkpoint(_model(256), tmp_path / "m.safetensors", arrays=arrays)
    real_fstat = os.fstat
    calls = []

    class Short:  # the file as a rewrite had just truncated it
        def __init__(self, result):
            self.result = result

        def __getattr__(self, name):
            return 1000 if name == "st_size" else getattr(self.result, name)

    def fstat(fd):
        result = real_fstat(fd)
        calls.append(result.st_size)
        # The opener's look (is it a file?), then the reader's own "before" look.
        return Short(result) if len(calls) == 2 else result

    monkeypatch.setattr(os, "fstat", fstat)
    read = load_checkpoint if reader == "load_checkpoint" else checkpoint_file.read_arrays
    with pytest.raises(CheckpointError, match="changed while it was read"):
        read(path)

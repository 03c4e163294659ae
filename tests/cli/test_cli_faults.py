"""CLI faults fed for real: every error is one line with the right exit status; sizes and
seeds are bounded; Ctrl-C while starting is quiet; the output of `train` is checked before
training; SIGTERM / SIGHUP save like Ctrl-C; a failed save falls back; a diverged run
never leaves a file that looks like a result."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from checkpoint_files import remount_read_only, tmpfs
from cli_helpers import run_cli

from vae_explorer.cli import build_parser, main
from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
from vae_explorer.core.model import VAE, VAEConfig


@pytest.fixture
def data_dir(make_idx_folder):
    return make_idx_folder(600, 200)


def assert_one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


HUGE = str(10**23)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["train", "--seed", HUGE, "--out", "{tmp}/m.safetensors"],
            2,
            "--seed: must be at most 4,294,967,295",
        ),
        (["eval", "{ckpt}", "--seed", HUGE], 2, "--seed: must be at most"),
        (["impute-eval", "{ckpt}", "--seed", HUGE], 2, "--seed: must be at most"),
        (["figures", "{ckpt}", "--out", "{tmp}", "--seed", "-1"], 2, "--seed: must be >= 0"),
        (["figures", "{ckpt}", "--out", "{tmp}", "--grid", "3000"], 2, "--grid: must be at most 200"),
        (["impute-eval", "{ckpt}", "--samples", "3000000000"], 2, "--samples: must be at most 10,000,000"),
        (["eval", "{ckpt}", "--iwae", HUGE], 2, "--iwae: must be at most 1,000,000"),
        (["eval", "{tmp}"], 2, "this is a folder, not a checkpoint file"),
        (["eval", "{tmp}/absent.safetensors"], 2, "no such file"),
        (["eval", "{custom}"], 2, "pass that folder with --data-dir"),
        (["train", "--data-dir", "{tmp}/none", "--out", "{tmp}/m.safetensors"], 2, "no such folder"),
        (["train", "--epochs", "1", "--out", "{tmp}/no/such/m.safetensors"], 2, "folder .* does not exist"),
        (["train", "--epochs", "1", "--out", "{tmp}"], 2, "is a folder, not a file"),
        (["train", "--beta", "inf", "--out", "{tmp}/m.safetensors"], 2, "--beta: must be a finite number"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_every_error_is_one_line_with_its_exit_status(tmp_path, checkpoint, capsys, argv, code, message):
    custom = save_checkpoint(
        VAE(VAEConfig(hidden_dim=8)), tmp_path / "custom.safetensors", {"dataset": "custom"}
    )
    names = {"tmp": str(tmp_path), "ckpt": str(checkpoint), "custom": str(custom)}
    got, err = run_cli([a.format(**names) for a in argv], capsys)
    assert got == code and re.search(message, assert_one_line(err)), err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("command", ["train", "impute-eval"])
def test_cuda_without_cuda_is_one_line(tmp_path, checkpoint, data_dir, capsys, command):
    argv = (
        ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m.safetensors")]
        if command == "train"
        else ["impute-eval", str(checkpoint), "--data-dir", str(data_dir)]
    )
    code, err = run_cli([*argv, "--device", "cuda"], capsys)
    assert code == 2 and "CUDA was requested" in assert_one_line(err)
    assert not (tmp_path / "m.safetensors").exists()


def test_ctrl_c_while_a_command_is_starting_is_one_quiet_line(checkpoint, data_dir):
    """The commands import torch for a second or more: a Ctrl-C then used to print a
    30-line KeyboardInterrupt traceback, or (landing in torch's own import of numpy, about
    0.5 s in here) was swallowed and the command ran on. The delays count from the end of
    the interpreter's own start-up (timed here, as the machine's load stands): a signal
    before it is Python's to report, not the app's."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = time.perf_counter() - started
    for delay in (0.4, 0.6, 1.0, 1.5, 2.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "vae_explorer", "eval", str(checkpoint), "--data-dir", str(data_dir),
             "--iwae", "100000"],  # a minute or more: the Ctrl-C comes first even under load
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(interpreter + delay)  # timing the signal, not waiting for a result
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted", (delay, err)


def test_train_to_a_read_only_file_system_fails_before_training(tmp_path, data_dir, capsys):
    with tmpfs(tmp_path / "ro") as disk:
        remount_read_only(disk)
        code, err = run_cli(
            ["train", "--data-dir", str(data_dir), "--out", str(disk / "m.safetensors")], capsys
        )
    assert code == 2 and "read-only file system (nothing was trained)" in assert_one_line(err)


def _train_process(data_dir: Path, out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vae_explorer", "train", "--data-dir", str(data_dir), "--epochs", "100000",
         "--batch-size", "50", "--hidden-dim", "16", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.time() + 180
    for line in proc.stdout:  # wait for the first finished epoch
        if "test ELBO" in line or time.time() > deadline:
            break
    return proc


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_and_save_like_ctrl_c(tmp_path, data_dir, name):
    out = tmp_path / "stopped.safetensors"
    proc = _train_process(data_dir, out)
    proc.send_signal(getattr(signal, name))
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    assert f"interrupted ({name}): saving the model trained so far" in output
    assert f"saved {out}" in output and "Traceback" not in output
    assert load_checkpoint(out).metadata["epochs_completed"] >= 1


def test_a_save_that_fails_at_the_end_falls_back_and_says_where(tmp_path, data_dir):
    folder = tmp_path / "runs"
    folder.mkdir()
    proc = _train_process(data_dir, folder / "m.safetensors")
    folder.rmdir()  # the output folder vanishes while training (an unplugged disk)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1, output
    fallback_dir = Path(os.environ["VAE_EXPLORER_CACHE_DIR"]) / "unsaved-models"
    (saved,) = fallback_dir.glob("m-unsaved-*.safetensors")
    assert f"saved the model to {saved} instead" in output
    assert "cannot save" in output and "Traceback" not in output
    assert load_checkpoint(saved).metadata["epochs_completed"] >= 1


def test_a_diverged_run_saves_only_its_last_good_weights_under_a_clear_name(tmp_path, data_dir, capsys):
    out = tmp_path / "m.safetensors"
    save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=16)), out, {"dataset": "mnist"})
    earlier = out.read_bytes()  # an earlier result the failed run must not touch
    code, err = run_cli(["train", "--data-dir", str(data_dir), "--epochs", "3", "--hidden-dim", "16",
                         "--lr", "1e6", "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 1, err
    last_good = tmp_path / "m.last-good.safetensors"
    assert load_checkpoint(last_good).model is not None
    assert out.read_bytes() == earlier
    assert "error: " in err and f"saved the last good weights as {last_good}" in err
    assert f"{out} was not written" in err and "Traceback" not in err


def test_a_diverged_run_never_replaces_a_file_that_is_not_a_checkpoint(tmp_path, data_dir, capsys):
    """The last good weights go beside --out; a user's own file at that name stays (it was
    replaced); an earlier run's last-good checkpoint may be."""
    out = tmp_path / "m.safetensors"
    mine = tmp_path / "m.last-good.safetensors"
    mine.write_text("precious notes")
    code, err = run_cli(["train", "--data-dir", str(data_dir), "--epochs", "2", "--hidden-dim", "16",
                         "--lr", "1e6", "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 1, err
    assert mine.read_text() == "precious notes"
    saved = tmp_path / "m.last-good-2.safetensors"
    assert load_checkpoint(saved).model is not None and f"saved the last good weights as {saved}" in err


def test_torch_running_out_of_memory_is_named_as_such(tmp_path, data_dir):
    """torch's allocator raises RuntimeError, not MemoryError: a model too large for the
    memory left is "not enough memory", not "a bug"."""
    import textwrap

    script = textwrap.dedent(
        f"""
        import resource, torch
        from vae_explorer.cli import main
        size = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + (600 << 20), resource.RLIM_INFINITY))
        raise SystemExit(main(["train", "--data-dir", {str(data_dir)!r}, "--epochs", "1", "--quiet",
                               "--hidden-dim", "16384,16384", "--out", {str(tmp_path / "m.safetensors")!r}]))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "not enough memory" in done.stderr and "unexpected" not in done.stderr, done.stderr[-2000:]


def test_what_counts_as_running_out_of_memory():
    from vae_explorer.core.devices import is_out_of_memory

    cpu = "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried"
    assert is_out_of_memory(RuntimeError(cpu)) and is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only the allocators' errors


def test_eval_and_impute_eval_show_progress_bars(checkpoint, data_dir, capsys):
    assert main(["eval", str(checkpoint), "--data-dir", str(data_dir), "--iwae", "50"]) == 0
    err = capsys.readouterr().err
    assert "IWAE K=50" in err and "200/200" in err
    assert main(["impute-eval", str(checkpoint), "--data-dir", str(data_dir), "--n", "30",
                 "--methods", "single,importance", "--samples", "20"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "single" in err and "importance" in err and "30/30" in err
    assert main(["eval", str(checkpoint), "--data-dir", str(data_dir), "--quiet"]) == 0
    assert "200/200" not in capsys.readouterr().err


def test_every_option_has_help_and_train_help_shows_defaults(capsys):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in (
        "(default: 50)",
        "(default: 256 for a VAE",
        "(default: 100)",
        "(default: bernoulli)",
        "(default: 0)",
    ):
        assert shown in text


def test_ctrl_c_stays_a_quiet_exit_until_the_command_runs(monkeypatch):
    """While the commands import (torch), a Ctrl-C must not become a KeyboardInterrupt: one
    raised in C++ code that called back into Python aborts the process (seen under load:
    "terminate called after throwing an instance of 'pybind11::error_already_set'")."""
    from vae_explorer import cli

    seen = {}

    def command(args):
        seen["running"] = signal.getsignal(signal.SIGINT)

    class Recording:
        def parse_args(self, argv):
            return argparse.Namespace(command="x", func=command)

    def build():
        seen["building"] = signal.getsignal(signal.SIGINT)
        return Recording()

    monkeypatch.setattr(cli, "build_parser", build)
    previous = signal.signal(signal.SIGINT, cli._interrupted_while_starting)
    try:
        assert cli.main(["x"]) == 0
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen["building"] is cli._interrupted_while_starting
    assert seen["running"] is signal.default_int_handler


@pytest.mark.parametrize(
    ("recorded", "said"),
    [
        ("custom", "trained on a folder of IDX files:"),
        (["mnist"], "trained on \"['mnist']\", not a dataset this app knows (fashion-mnist, mnist)"),
        ("\x1b[31mred", "trained on '\\x1b[31mred', not a dataset this app knows"),
    ],
)
def test_a_recorded_dataset_that_is_not_known_is_named_plainly(tmp_path, capsys, recorded, said):
    """A damaged file's ["mnist"] was called "a folder of IDX files" like "custom"."""
    path = save_checkpoint(VAE(VAEConfig(latent_dim=2, hidden_dim=8)), tmp_path / "m.safetensors",
                           {"dataset": recorded})  # fmt: skip
    code, err = run_cli(["eval", str(path)], capsys)
    assert code == 2 and said in assert_one_line(err) and "--data-dir" in err and "\x1b" not in err


def test_sigterm_ends_any_command_as_ctrl_c_does(checkpoint):
    """`eval`, `gaps`, `impute-eval` and `figures` were killed outright (exit 143, no
    word); `train` and `animate` said "interrupted" and exited 130, as --help says."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vae_explorer", "gaps", str(checkpoint)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()  # its heading: the work has started (it takes far longer)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted (SIGTERM)" and "Traceback" not in err


def test_a_command_runs_with_no_stderr_at_all(checkpoint):
    """With stderr closed (or pythonw's None) the progress bar failed the whole command."""
    done = subprocess.run(
        [sys.executable, "-m", "vae_explorer", "eval", str(checkpoint)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=300,
        preexec_fn=lambda: os.close(2),
    )  # fmt: skip
    assert done.returncode == 0 and "ELBO" in done.stdout


def test_a_name_the_terminal_cannot_show_is_escaped_not_a_bug(checkpoint):
    named = checkpoint.with_name("café.safetensors")
    checkpoint.rename(named)
    done = subprocess.run(
        [sys.executable, "-m", "vae_explorer", "eval", str(named), "--quiet"],
        capture_output=True, timeout=300, env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"caf\\xe9.safetensors" in done.stdout and b"ELBO" in done.stdout

"""`vae-explorer` and `vae-explorer gui CKPT` open the window without importing torch first
(the subcommands' imports would hold up the first paint by seconds)."""

import subprocess
import sys

import pytest

PROBE = (
    "import sys\n"
    "import vae_explorer.cli as cli\n"
    "cli._run_gui = lambda args: print(args.checkpoint, 'torch' in sys.modules) or 0\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        ([], "None"),
        (["gui"], "None"),
        (["gui", "m.safetensors"], "m.safetensors"),
        (["/models/mine.SAFETENSORS"], "/models/mine.SAFETENSORS"),  # a file manager's "Open with"
    ],
)
def test_the_window_starts_before_torch_is_imported(argv, shown):
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [shown, "False"]


def test_gui_help_still_goes_through_the_parser():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "gui", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "checkpoint" in done.stdout and "False" not in done.stdout


def test_a_command_is_not_taken_for_a_file_to_open():
    done = subprocess.run([sys.executable, "-c", PROBE, "eval"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "checkpoint" in done.stderr  # eval's own usage error

"""`vae-explorer`: the GUI by default, and subcommands for headless work.

Each subcommand lives in vae_explorer/commands/<name>.py with ``add_parser(subparsers)``
(which sets ``func``) so this file stays a short table of contents.

Every error reaches the user as one line on stderr, never a traceback: exit status 2 for
bad arguments or input (a file, a folder, a device, a setting), 1 for a failure while
working (a diverged run, no memory, a disk error), 130 when interrupted. The commands are
imported inside :func:`main`, so a Ctrl-C while they load (torch takes seconds) is a
clean "interrupted" too.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C before the command runs (imports take a moment): exit quietly, no traceback."""
    os.write(2, b"\ninterrupted\n")
    os._exit(130)


# Installed first thing when this is the `vae-explorer` program (not when a test or a
# script imports the module); main() restores the usual KeyboardInterrupt when the command
# is about to run (see _started).
if os.path.basename(sys.argv[0]) in ("vae-explorer", "__main__.py"):
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import argparse  # noqa: E402
import importlib  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import NoReturn  # noqa: E402

from . import __version__  # noqa: E402

COMMAND_MODULES = ("train", "eval", "impute_eval", "figures", "gaps", "animate")
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130
DEBUG_ENV = "VAE_EXPLORER_DEBUG"  # set to 1 to see the traceback of an unexpected error
EPILOG = "exit status: 0 done, 1 failed while working, 2 bad arguments or input, 130 interrupted"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to read the usage, not the
    whole usage block (subcommand parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def commands() -> list[ModuleType]:
    """The subcommand modules, in the order of the help text."""
    # numpy before torch: torch's C initialisation imports numpy, and a Ctrl-C landing in
    # that import is swallowed (torch takes it for "no numpy") and the command runs on.
    import numpy  # noqa: F401

    return [importlib.import_module(f".commands.{name}", __package__) for name in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vae-explorer",
        description="Train a variational auto-encoder and look inside it. "
        "Without a command, opens the desktop app.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("checkpoint", nargs="?", help="a .safetensors model to open")
    gui.set_defaults(func=_run_gui)
    for command in commands():
        command.add_parser(sub)
    return parser


def _plain_gui_request(argv: list[str]) -> argparse.Namespace | None:
    """``vae-explorer``, ``vae-explorer gui [CKPT]`` or ``vae-explorer CKPT.safetensors`` (how
    a file manager's "Open with" calls it): the window, without building the parser first.
    Building it imports every subcommand, and with them torch, which would hold up the
    window's first paint by seconds."""
    if not argv:
        return argparse.Namespace(checkpoint=None)
    if len(argv) == 1 and argv[0].lower().endswith(".safetensors") and not argv[0].startswith("-"):
        return argparse.Namespace(checkpoint=argv[0])
    if argv[0] == "gui" and len(argv) <= 2 and not any(a.startswith("-") for a in argv[1:]):
        return argparse.Namespace(checkpoint=argv[1] if len(argv) == 2 else None)
    return None


def _run_gui(args: argparse.Namespace) -> int:
    from .gui.app import run_app

    return run_app(getattr(args, "checkpoint", None))


def _started() -> None:
    """The command is about to run: from now on a Ctrl-C is a KeyboardInterrupt that the
    command handles (a training run saves what it has). Until then the quiet exit stays: a
    KeyboardInterrupt raised while torch imports can land in C++ code that called back into
    Python, where it cannot propagate and aborts the process (seen under load)."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        window = _plain_gui_request(sys.argv[1:] if argv is None else list(argv))
        if window is not None:
            _started()
            return _run_gui(window)
        parser = build_parser()
        args = parser.parse_args(argv)
        _started()
        if args.command is None or args.func is _run_gui:
            return _run_gui(args)
        from .commands._common import stop_signals_interrupt

        _escape_what_the_terminal_cannot_show()
        with stop_signals_interrupt():  # SIGTERM, SIGHUP: as Ctrl-C (train saves what it has)
            return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        detail = f" ({exc})" if str(exc) else ""
        _say(f"\ninterrupted{detail}")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head`: not an error worth a word
        _silence_stdout()
        return EXIT_FAILED
    except SystemExit:
        raise
    except Exception as exc:
        return _report(exc)


def run() -> NoReturn:
    """The `vae-explorer` program: :func:`main`, then exit with its status.

    An interrupted command ends with ``os._exit``: when the Ctrl-C lands inside C code that
    runs Python source (parts of torch's import do), CPython marks the KeyboardInterrupt as
    unhandled even though :func:`main` handled it, and at exit kills the process with SIGINT
    instead of returning 130."""
    status = main()
    if status == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)
    raise SystemExit(status)


def _report(exc: Exception) -> int:
    """One line for an error that escaped a command, and its exit status."""
    from .core.checkpoints import CheckpointError
    from .core.data import DatasetError
    from .core.devices import DeviceError, is_out_of_memory
    from .core.files import show_path
    from .core.model import ConfigError, InputError

    if isinstance(exc, (CheckpointError, DatasetError, DeviceError, ConfigError, InputError)):
        _say(f"error: {exc}")
        return EXIT_BAD_INPUT
    if is_out_of_memory(exc):
        _say("error: not enough memory for this command; try smaller sizes (fewer images or samples)")
        return EXIT_FAILED
    if isinstance(exc, OSError):
        where = f": {show_path(exc.filename)}" if exc.filename is not None else ""
        _say(f"error: {exc.strerror or exc}{where}")
        return EXIT_FAILED
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    _say(
        f"error: unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
        f"{DEBUG_ENV}=1 shows the traceback)"
    )
    return EXIT_FAILED


def _escape_what_the_terminal_cannot_show() -> None:
    """A character the output's encoding lacks (a file named "café" on an ASCII
    terminal) is written as an escape, not an error ending the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (OSError, ValueError):
                pass


def _say(line: str) -> None:
    """Print to stderr, ignoring a stderr that is gone (a closed terminal)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())

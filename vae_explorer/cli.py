"""`vae-explorer`: the GUI by default, and subcommands for headless work.

Each subcommand lives in vae_explorer/commands/<name>.py with ``add_parser(subparsers)``
(which sets ``func``) so this file stays a short table of contents.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .commands import eval as eval_command
from .commands import figures, impute_eval, train

COMMANDS = (train, eval_command, impute_eval, figures)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vae-explorer",
        description="Train a variational auto-encoder and look inside it. "
        "Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("checkpoint", nargs="?", help="a .safetensors model to open")
    gui.set_defaults(func=_run_gui)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from .gui.app import run_app

    return run_app(getattr(args, "checkpoint", None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _run_gui(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

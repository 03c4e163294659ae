"""Argument types and helpers shared by the subcommands.

Every number a user can type is bounded here, in argparse, so a size that could never
run (a 3000 x 3000 grid, a seed beyond 64 bits) is refused at once with a one-line
message instead of failing minutes later in the allocator or in torch.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..core.data import DATASETS, OWN_IMAGES

MAX_SEED = 2**32 - 1  # numpy's and torch's generators both take it
# Stopped like Ctrl-C (as `train` does): SIGTERM from `kill` or a service manager, SIGHUP
# from a closed terminal.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default (only where the help text does not already say it)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False:
            return text
        if action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def add_command(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand parser with the shared help formatter."""
    return sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)  # type: ignore[no-any-return]


def bounded_int(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse type for a whole number in [low, high], saying why when it is not."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low:,}, got {value:,}")
        if value > high:
            reason = f" ({what})" if what else ""
            raise argparse.ArgumentTypeError(f"must be at most {high:,}{reason}, got {_short(value)}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


def _short(value: int) -> str:
    digits = len(str(value))
    return f"{value:,}" if digits <= 24 else f"a number with {digits} digits"


positive_int = bounded_int(1, 2**31 - 1)
seed_int = bounded_int(0, MAX_SEED, "the random generators' range")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def add_seed_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=seed_int, default=0,
                   help=f"random seed, 0 to {MAX_SEED:,}; the same seed gives the same result")  # fmt: skip


def die(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def data_folder(text: str) -> str:
    """--data-dir: a folder's name, never empty (``train`` would take "" for no folder and
    train on MNIST, ``eval`` would read the current folder). A relative name that is also a
    dataset key ("mnist", "your images") gets "./" in front: it is that folder, always."""
    if not text:
        raise argparse.ArgumentTypeError("an empty folder name: give the folder holding the four IDX files")
    if text in DATASETS or text == OWN_IMAGES:
        return os.path.join(os.curdir, text)
    return text


def add_dataset_arguments(p: argparse.ArgumentParser, default: str | None = "mnist") -> None:
    where = "" if default else " (default: the one the model was trained on)"
    p.add_argument(
        "--dataset", choices=sorted(DATASETS), default=default, help="a registered dataset" + where
    )
    p.add_argument("--data-dir", type=data_folder, help="a folder holding the four IDX files (.gz or raw)")
    p.add_argument("--download", action="store_true",
                   help="download the dataset if it is not on this machine")  # fmt: skip


def recorded_dataset(metadata: dict[str, Any]) -> str:
    """The dataset a checkpoint's metadata records, for ``args.dataset`` ("mnist" if none;
    a value that is no name, from a damaged file, as text for the message)."""
    value = metadata.get("dataset")
    return "mnist" if value is None else str(value)


def load_split(args: Any, split: str) -> Any:
    """Load one split for a subcommand, turning data errors into a clean exit."""
    from ..core.data import DatasetError, load_dataset
    from ..core.data.registry import CUSTOM_DATASET

    if args.dataset not in DATASETS and not args.data_dir:
        known = ", ".join(sorted(DATASETS))
        trained_on = (
            "a folder of IDX files: pass that folder"
            if args.dataset == CUSTOM_DATASET  # (repr escapes what cannot be printed)
            else f"{args.dataset[:60]!r}, not a dataset this app knows ({known}): pass its folder"
        )
        die(f"the model was trained on {trained_on} with --data-dir, or name a dataset with --dataset")
        raise SystemExit(2)
    try:
        data = load_dataset(args.dataset, split, root=args.data_dir, download=args.download)
    except DatasetError as exc:
        die(str(exc))
        raise SystemExit(2) from None
    if len(data) == 0:  # worded as `train` words it (core.training.job)
        from ..core.files import show_path

        name = "training" if split == "train" else split
        where = f"in {show_path(args.data_dir)}" if args.data_dir else f"of {args.dataset}"
        die(f"the {name} split {where} holds no images")
        raise SystemExit(2)
    return data


def load_train_test(args: Any) -> tuple[Any, Any]:
    return load_split(args, "train"), load_split(args, "test")


def check_model_or_exit(model: Any, images: Any, path: Any) -> None:
    """Before the work: exit 2 naming ``path`` and the network if ``model`` computes
    non-finite values on a few of ``images`` (core.model_probe)."""
    from ..core.model_probe import DamagedModelError, check_model

    try:
        check_model(model, images, path)
    except DamagedModelError as exc:
        die(str(exc))
        raise SystemExit(2) from None


def exit_if_nonfinite(path: Any, results: dict[str, Any]) -> None:
    """After the work: exit 2 rather than show inf or NaN results as a success."""
    from ..core.model_probe import nonfinite, nonfinite_message

    bad = nonfinite(results)
    if bad:
        die(nonfinite_message(path, bad))
        raise SystemExit(2)


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP interrupt as Ctrl-C does: a KeyboardInterrupt naming the signal,
    so that ``finally`` blocks and context managers clean up (a temporary file goes) and
    the CLI prints one line, "interrupted (SIGTERM)", and exits 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def progress_bar(total: int, desc: str, unit: str, quiet: bool = False) -> Any:
    """A tqdm bar on stderr, or a no-op one with ``quiet`` or with no stderr at all (closed,
    or pythonw on Windows: tqdm would fail writing to None)."""
    from tqdm import tqdm

    off = quiet or sys.stderr is None
    return tqdm(total=total, desc=desc, unit=unit, disable=off, dynamic_ncols=True, file=sys.stderr)


def hidden_sizes(text: str) -> int | tuple[int, ...]:
    """--hidden-dim: "256" or "200,200" (each size a whole number >= 1)."""
    from ..core.model import ConfigError, parse_hidden  # torch: imported when parsing, not at --help

    items = text.replace("-", ",").split(",")  # as parse_hidden reads them; "200, 200" is fine
    if any(not item.strip() for item in items):
        raise argparse.ArgumentTypeError(
            f"{text!r} has an empty layer size (a comma or dash at an end, or two in a row); "
            "give sizes like 200,200"
        )
    try:
        sizes = parse_hidden(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    for n in sizes if isinstance(sizes, tuple) else (sizes,):
        positive_int(str(n))
    return sizes


def hidden_text(sizes: int | tuple[int, ...]) -> str:
    """--hidden-dim's value as typed: "256" or "200,200"."""
    return ",".join(map(str, sizes)) if isinstance(sizes, tuple) else str(sizes)

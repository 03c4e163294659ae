"""Argument types and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..core.data import DATASETS


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def die(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def add_dataset_arguments(p: argparse.ArgumentParser, default: str | None = "mnist") -> None:
    p.add_argument("--dataset", choices=sorted(DATASETS), default=default)
    p.add_argument("--data-dir", help="a folder holding the four IDX files (.gz or raw)")
    p.add_argument("--download", action="store_true",
                   help="download the dataset if it is not on this machine")  # fmt: skip


def load_split(args: Any, split: str) -> Any:
    """Load one split for a subcommand, turning data errors into a clean exit."""
    from ..core.data import DatasetError, load_dataset

    if args.dataset not in DATASETS and not args.data_dir:
        raise SystemExit(
            f"error: the model was trained on a folder of IDX files (dataset {args.dataset!r}): "
            "pass that folder with --data-dir, or name a dataset with --dataset"
        )
    try:
        return load_dataset(args.dataset, split, root=args.data_dir, download=args.download)
    except DatasetError as exc:
        raise SystemExit(f"error: {exc}") from None


def load_train_test(args: Any) -> tuple[Any, Any]:
    return load_split(args, "train"), load_split(args, "test")

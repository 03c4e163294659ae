"""Add the first screen's arrays (test latents, grid, preview, palette) to checkpoints, in place.

    .venv/bin/python scripts/cache_first_screen.py trained/*.safetensors

Each file keeps its weights, metadata and other arrays; the first-screen arrays are
recomputed from its weights and the test split of the dataset it names (atomically written:
a failure leaves the file as it was). A checkpoint with these arrays opens in about a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vae_explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.data import DatasetError, DatasetRef
from vae_explorer.core.first_screen import first_screen_arrays


def cache(path: Path) -> str:
    ckpt = load_checkpoint(path)
    dataset = ckpt.metadata.get("dataset")
    if not isinstance(dataset, str):
        raise CheckpointError(f"{path}: the metadata names no dataset, so there is no test split to cache")
    test = DatasetRef.from_key(dataset).load("test")
    arrays = dict(ckpt.arrays)
    arrays.update(first_screen_arrays(ckpt.model, test.images))
    # save_checkpoint writes these itself; everything else in the metadata is kept as read.
    meta = {
        k: v
        for k, v in ckpt.metadata.items()
        if k not in ("format", "format_version", "app_version", "config")
    }
    save_checkpoint(ckpt.model, path, meta, arrays=arrays)
    return f"{path}: cached {len(test):,} test latents of {dataset} and the first screen"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.checkpoints:
        try:
            print(cache(path))
        except (CheckpointError, DatasetError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())

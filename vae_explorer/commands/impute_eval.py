"""`vae-explorer impute-eval CKPT`: how well each imputation method restores masked digits.

Prints one row per method: mean squared error on the missing pixels, the accuracy of a
small digit classifier on the imputed images, and time per image, next to reference rows
for the complete and the masked images. A progress bar on stderr follows each method.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ._common import (
    add_command,
    add_dataset_arguments,
    add_seed_argument,
    bounded_int,
    check_model_or_exit,
    die,
    exit_if_nonfinite,
    positive_int,
)

# Any --samples fits in memory (core chunks the draws and chains); these bounds only stop
# runs that would take days, with a message saying so.
MAX_SAMPLES = 10_000_000
MAX_STEPS = 100_000


def add_parser(sub: Any) -> None:
    from ..core.imputation import METHODS
    from ..core.masks import DEFAULT_MASK, MASK_NAMES

    p = add_command(
        sub,
        "impute-eval",
        help="compare imputation methods on masked test images",
        description=__doc__,
    )
    p.add_argument("checkpoint", help="a .safetensors model")
    p.add_argument("--mask", default=DEFAULT_MASK, choices=MASK_NAMES, help="which pixels are missing")
    p.add_argument("--fraction", type=float, default=0.5, help="share of pixels missing for --mask random")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated, from {', '.join(METHODS)}")  # fmt: skip
    p.add_argument("--n", type=positive_int, default=10_000, help="test images (at most the whole split)")
    p.add_argument("--steps", type=bounded_int(1, MAX_STEPS, "a longer run would take days"), default=None,
                   help="chain steps / importance rounds (default: each method's own)")  # fmt: skip
    p.add_argument("--samples", type=bounded_int(1, MAX_SAMPLES, "a larger run would take days"),
                   default=None,
                   help="importance draws / parallel chains (default: each method's own)")  # fmt: skip
    p.add_argument("--fill", choices=("zero", "mean"), default="zero",
                   help="what the missing pixels hold before encoding")  # fmt: skip
    add_seed_argument(p)
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataset_arguments(p, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.classifier import load_or_train_classifier
    from ..core.devices import DeviceError, resolve_device
    from ..core.files import show_path
    from ..core.image import IMAGE_PIXELS
    from ..core.imputation import METHODS, evaluate_imputations, format_table
    from ..core.masks import make_mask
    from ._common import load_split, progress_bar, recorded_dataset

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        return die(f"unknown method(s) {', '.join(unknown) or '(none given)'}; "
                   f"choose from {', '.join(METHODS)}")  # fmt: skip
    if not 0.0 <= args.fraction <= 1.0:
        return die(f"--fraction must be between 0 and 1, got {args.fraction}")
    try:
        device = resolve_device(args.device)
        ckpt = load_checkpoint(args.checkpoint)
        model = ckpt.require_vae("impute-eval").to(device)
    except (CheckpointError, DeviceError) as exc:
        return die(str(exc))
    if args.dataset is None:
        args.dataset = recorded_dataset(ckpt.metadata)
    test = load_split(args, "test")
    check_model_or_exit(model, test.images, args.checkpoint)
    n = min(args.n, len(test))
    images, labels = test.images[:n], test.labels[:n]
    mask = make_mask(args.mask, n, fraction=args.fraction, seed=args.seed)
    start = time.perf_counter()
    print(f"classifier for {args.dataset} (trained once, then cached) ...", file=sys.stderr)
    train = load_split(args, "train")
    clf = load_or_train_classifier(args.dataset, train.images, train.labels)
    print(f"  ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    bars: list[Any] = []

    def started(method: str) -> None:
        for bar in bars:
            bar.close()
        bars[:] = [progress_bar(n, method, "img", quiet=args.quiet)]

    def advanced(method: str, done: int) -> None:
        bars[-1].update(done - bars[-1].n)

    try:
        rows = evaluate_imputations(
            model, images, mask, methods, labels, clf, steps=args.steps, samples=args.samples,
            seed=args.seed, fill=args.fill, progress=started, on_images=advanced,
        )  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    results = {f"{r.name} MSE": r.mse for r in rows} | {f"{r.name} accuracy": r.accuracy for r in rows}
    exit_if_nonfinite(args.checkpoint, results)
    missing = int(mask.sum()) // max(n, 1)
    print(f"{show_path(args.checkpoint)}: {model.config.likelihood}, z={model.latent_dim}; "
          f"{args.dataset} test, {n} images; mask {args.mask} ({missing} of {IMAGE_PIXELS} pixels "
          f"missing); device {device}")  # fmt: skip
    print(format_table(rows))
    return 0

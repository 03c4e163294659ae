"""`vae-explorer impute-eval CKPT`: how well each imputation method restores masked digits.

Prints one row per method: mean squared error on the missing pixels, the accuracy of a
small digit classifier on the imputed images, and time per image, next to reference rows
for the complete and the masked images.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ._common import add_dataset_arguments, die, positive_int


def add_parser(sub: Any) -> None:
    from ..core.imputation import METHODS
    from ..core.masks import DEFAULT_MASK, MASK_NAMES

    p = sub.add_parser(
        "impute-eval",
        help="compare imputation methods on masked test images",
        description=__doc__,
    )
    p.add_argument("checkpoint")
    p.add_argument("--mask", default=DEFAULT_MASK, choices=MASK_NAMES,
                   help=f"which pixels are missing (default {DEFAULT_MASK})")  # fmt: skip
    p.add_argument("--fraction", type=float, default=0.5,
                   help="share of pixels missing for --mask random (default 0.5)")  # fmt: skip
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated, from {', '.join(METHODS)} (default all)")  # fmt: skip
    p.add_argument("--n", type=positive_int, default=10_000, help="test images (default all)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="chain steps / importance rounds (default: each method's own)")  # fmt: skip
    p.add_argument("--samples", type=positive_int, default=None,
                   help="importance draws / parallel chains (default: each method's own)")  # fmt: skip
    p.add_argument("--fill", choices=("zero", "mean"), default="zero",
                   help="what the missing pixels hold before encoding")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    add_dataset_arguments(p, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.classifier import load_or_train_classifier
    from ..core.devices import DeviceError, resolve_device
    from ..core.image import IMAGE_PIXELS
    from ..core.imputation import METHODS, evaluate_imputations, format_table
    from ..core.masks import make_mask
    from ._common import load_split

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        return die(f"unknown method(s) {', '.join(unknown) or '(none given)'}; "
                   f"choose from {', '.join(METHODS)}")  # fmt: skip
    if not 0.0 <= args.fraction <= 1.0:
        return die(f"--fraction must be between 0 and 1, got {args.fraction}")
    try:
        ckpt = load_checkpoint(args.checkpoint)
        device = resolve_device(args.device)
    except (CheckpointError, DeviceError) as exc:
        return die(str(exc))
    model = ckpt.model.to(device)
    if args.dataset is None:
        args.dataset = str(ckpt.metadata.get("dataset", "mnist"))
    test = load_split(args, "test")
    n = min(args.n, len(test))
    images, labels = test.images[:n], test.labels[:n]
    mask = make_mask(args.mask, n, fraction=args.fraction, seed=args.seed)
    start = time.perf_counter()
    print(f"classifier for {args.dataset} (trained once, then cached) ...", file=sys.stderr)
    train = load_split(args, "train")
    clf = load_or_train_classifier(args.dataset, train.images, train.labels)
    print(f"  ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    def progress(method: str) -> None:
        print(f"imputing with {method} ...", file=sys.stderr)

    rows = evaluate_imputations(
        model, images, mask, methods, labels, clf,
        steps=args.steps, samples=args.samples, seed=args.seed, fill=args.fill, progress=progress,
    )  # fmt: skip
    missing = int(mask.sum()) // max(n, 1)
    print(f"{ckpt.path}: {model.config.likelihood}, z={model.latent_dim}; {args.dataset} test, "
          f"{n} images; mask {args.mask} ({missing} of {IMAGE_PIXELS} pixels missing); "
          f"device {device}")  # fmt: skip
    print(format_table(rows))
    return 0

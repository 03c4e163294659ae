"""`vae-explorer eval CKPT`: test-set ELBO and, with --iwae K, the log-likelihood estimate;
for a labelled model (m2, m1m2), the test error of q(y|x) and the accuracy of each class."""

from __future__ import annotations

import argparse
import math
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
)

MAX_IWAE = 1_000_000


def add_parser(sub: Any) -> None:
    p = add_command(sub, "eval", help="print a checkpoint's test metrics", description=__doc__)
    p.add_argument("checkpoint", help="a .safetensors model")
    add_dataset_arguments(p, default=None)
    p.add_argument("--iwae", type=bounded_int(0, MAX_IWAE, "K draws per image"), default=0, metavar="K",
                   help="also estimate log p(x) with K importance samples per image (0: no)")  # fmt: skip
    p.add_argument("--split", choices=("train", "test"), default="test", help="which split to score")
    add_seed_argument(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.evaluation import evaluate
    from ..core.files import show_path, show_text
    from ._common import load_split, progress_bar, recorded_dataset

    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        return die(str(exc))
    if args.dataset is None:
        args.dataset = recorded_dataset(ckpt.metadata)
    data = load_split(args, args.split)
    if ckpt.kind != "vae" and args.iwae:
        return die(f"--iwae is for VAEs; {show_path(args.checkpoint)} is a labelled {ckpt.kind} model")
    check_model_or_exit(ckpt.model, data.images, args.checkpoint)
    if ckpt.kind != "vae":
        return _labelled(args, ckpt, data)
    start = time.perf_counter()
    what = f"IWAE K={args.iwae}" if args.iwae else "ELBO"
    with progress_bar(len(data), what, "img", quiet=args.quiet) as bar:

        def progress(done: int) -> None:
            bar.update(done - bar.n)

        metrics = evaluate(ckpt.model, data.images, iwae_samples=args.iwae, seed=args.seed, progress=progress)
    seconds = time.perf_counter() - start
    exit_if_nonfinite(args.checkpoint, metrics)
    if args.json:
        print(json.dumps(json_safe({**metrics, "seconds": round(seconds, 2)}), allow_nan=False))
        return 0
    print(
        f"{show_path(args.checkpoint)} on {show_text(args.dataset)} {args.split} "
        f"({len(data)} images, {seconds:.1f} s)"
    )
    print(f"  ELBO            {metrics['elbo']:10.3f} nats/image")
    print(f"  reconstruction  {metrics['recon']:10.3f}")
    print(f"  KL              {metrics['kl']:10.3f}")
    if "log_likelihood" in metrics:
        print(f"  log p(x) (IWAE, K={args.iwae}) {metrics['log_likelihood']:10.3f}")
    return 0


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite number (NaN for a class the split lacks, say) as
    None, so that it prints as JSON's null: NaN and Infinity are not JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def _labelled(args: argparse.Namespace, ckpt: Any, data: Any) -> int:
    import json

    from ..core.files import show_path, show_text
    from ..core.labelled import evaluate_labelled

    names = list(getattr(data, "classes", []))
    if names and len(names) != ckpt.model.classes:
        # Its q(y|x) names other classes: an error rate against these labels means nothing.
        return die(
            f"{show_path(args.checkpoint)} tells {ckpt.model.classes} classes apart and "
            f"{show_text(args.dataset)} has {len(names)}: score it on data with {ckpt.model.classes} classes"
        )
    start = time.perf_counter()
    metrics = evaluate_labelled(ckpt.model, data.images, data.labels, seed=args.seed)
    seconds = time.perf_counter() - start
    # per_class_accuracy is NaN for a class the split lacks: not a failure (null in JSON)
    exit_if_nonfinite(args.checkpoint, {"test error": metrics["error"], "ELBO": metrics["elbo"]})
    if args.json:
        labels = ckpt.metadata.get("labels")  # a count or "all"; anything else is not passed on
        labels = labels if isinstance(labels, (int, str)) and not isinstance(labels, bool) else None
        result = {**metrics, "labels": labels, "seconds": round(seconds, 2)}
        print(json.dumps(json_safe(result), allow_nan=False))
        return 0
    labels = show_text(ckpt.metadata.get("labels", "?"))
    print(
        f"{show_path(args.checkpoint)} ({ckpt.kind}, {labels} labels) on {show_text(args.dataset)} "
        f"{args.split} ({len(data)} images, {seconds:.1f} s)"
    )
    print(f"  test error      {100 * metrics['error']:9.2f} %")
    names = names or [str(c) for c in range(len(metrics["per_class_accuracy"]))]
    for name, accuracy in zip(names, metrics["per_class_accuracy"], strict=True):
        if math.isfinite(accuracy):
            print(f"  class {name:<9} {100 * accuracy:9.2f} % right")
        else:
            print(f"  class {name:<9}        no images of it in this split")
    of = "pixels" if ckpt.kind == "m2" else "M1 latents"
    print(f"  ELBO            {metrics['elbo']:10.3f} nats/image (of {of})")
    return 0

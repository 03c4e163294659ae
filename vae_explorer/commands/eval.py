"""`vae-explorer eval CKPT`: test-set ELBO and, with --iwae K, the log-likelihood estimate."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ._common import add_dataset_arguments, die


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="print a checkpoint's test metrics")
    p.add_argument("checkpoint")
    add_dataset_arguments(p, default=None)
    p.add_argument("--iwae", type=int, default=0, metavar="K",
                   help="also estimate log p(x) with K importance samples")  # fmt: skip
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.evaluation import evaluate
    from ._common import load_split

    if args.iwae < 0:
        return die("--iwae must be >= 0")
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        return die(str(exc))
    if args.dataset is None:
        args.dataset = str(ckpt.metadata.get("dataset", "mnist"))
    data = load_split(args, args.split)
    start = time.perf_counter()
    metrics = evaluate(ckpt.model, data.images, iwae_samples=args.iwae, seed=args.seed)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({**metrics, "seconds": round(seconds, 2)}))
        return 0
    print(f"{ckpt.path} on {args.dataset} {args.split} ({len(data)} images, {seconds:.1f} s)")
    print(f"  ELBO            {metrics['elbo']:10.3f} nats/image")
    print(f"  reconstruction  {metrics['recon']:10.3f}")
    print(f"  KL              {metrics['kl']:10.3f}")
    if "log_likelihood" in metrics:
        print(f"  log p(x) (IWAE, K={args.iwae}) {metrics['log_likelihood']:10.3f}")
    return 0

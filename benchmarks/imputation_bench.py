"""Imputation benchmark: quality (missing-pixel MSE, classifier accuracy) and canvas latency.

    .venv/bin/python benchmarks/imputation_bench.py [CKPT ...] [--n 2000] [--mask middle_rows]
        [--sweep]

Targets (issue 4): on the middle-rows mask with the 2-d models, the best of pseudo_gibbs /
mwg / importance has >= 15% lower missing-pixel MSE than "single" and a higher classifier
accuracy; imputing ONE image at default settings takes < 50 ms on CPU (median of 30).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.classifier import get_classifier
from vae_explorer.core.data import load_dataset
from vae_explorer.core.imputation import (
    DEFAULT_SAMPLES,
    DEFAULT_STEPS,
    METHODS,
    evaluate_imputations,
    format_table,
    impute,
)
from vae_explorer.core.masks import make_mask

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CKPTS = [ROOT / "trained" / f"mnist-{lik}-z2.safetensors" for lik in ("bernoulli", "gaussian")]


def latency_ms(model, image, mask, method, repeats=30, **kw) -> tuple[float, float]:
    """(median, min) wall time of imputing one image, after a warm-up call.

    On a shared machine the median carries other processes' load; the minimum is what the
    computation itself costs. Both are printed; the target is judged on the median.
    """
    impute(model, image, mask, method=method, **kw)
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        impute(model, image, mask, method=method, seed=i, **kw)
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times), min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("checkpoints", nargs="*", type=Path)
    p.add_argument("--n", type=int, default=2000, help="test images for the quality table")
    p.add_argument("--mask", default="middle_rows")
    p.add_argument("--sweep", action="store_true", help="also sweep steps / samples")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = leave as is)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpts = args.checkpoints or [c for c in DEFAULT_CKPTS if c.exists()]
    if not ckpts:
        print("no checkpoints given and none in trained/", file=sys.stderr)
        return 2
    test = load_dataset("mnist", "test")
    x, y = test.images[: args.n], test.labels[: args.n]
    mask = make_mask(args.mask, len(x))
    t = time.perf_counter()
    clf = get_classifier("mnist")
    print(f"classifier ready in {time.perf_counter() - t:.1f} s; torch threads {torch.get_num_threads()}")
    verdict = True
    for path in ckpts:
        model = load_checkpoint(path).model.cpu()
        print(f"\n== {path.name}  ({model.config.likelihood}, z={model.latent_dim}), "
              f"mask {args.mask}, {len(x)} test images ==")  # fmt: skip
        rows = evaluate_imputations(model, x, mask, METHODS, y, clf)
        print(format_table(rows))
        by = {r.name: r for r in rows}
        best = min(("pseudo_gibbs", "mwg", "importance"), key=lambda k: by[k].mse)
        gain = 1 - by[best].mse / by["single"].mse
        acc_ok = by[best].accuracy > by["single"].accuracy
        ok = gain >= 0.15 and acc_ok
        print(f"best iterative method: {best}, MSE {100 * gain:.1f}% lower than single "
              f"(target >= 15%), accuracy {100 * by[best].accuracy:.2f}% vs "
              f"{100 * by['single'].accuracy:.2f}%  -> {'PASS' if ok else 'FAIL'}")  # fmt: skip
        verdict &= gain >= 0.15 and acc_ok
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"\none canvas image, default settings (30 runs; load average {load:.1f} "
            f"on {os.cpu_count()} CPUs):"
        )
        one, one_mask = x[:1], mask[:1]
        for method in METHODS:
            ms, fastest = latency_ms(model, one, one_mask, method)
            ok = ms < 50
            verdict &= ok
            print(f"  {method:<13} steps={DEFAULT_STEPS[method]:<4} samples={DEFAULT_SAMPLES[method]:<5}"
                  f" median {ms:7.2f} ms, min {fastest:6.2f} ms  "
                  f"{'PASS' if ok else 'FAIL'} (< 50 ms)")  # fmt: skip
        if args.sweep:
            sweep(model, x, y, mask, clf)
    print(f"\noverall: {'PASS' if verdict else 'FAIL'}")
    return 0 if verdict else 1


def sweep(model, x, y, mask, clf) -> None:
    """MSE / accuracy / latency across settings, to choose the defaults honestly."""
    grid = {
        "pseudo_gibbs": [dict(steps=s, samples=c) for s in (10, 25, 50, 100) for c in (1, 8)]
        + [dict(steps=50, samples=8, refill="mean")],
        "mwg": [dict(steps=s, samples=c) for s in (10, 25, 50, 100) for c in (1, 8)],
        "importance": [dict(steps=s, samples=k) for s in (1, 2, 3) for k in (100, 500, 2000)],
    }
    m = torch.as_tensor(mask)
    xt = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32) / 255
    print("\nsweep (MSE on missing pixels, accuracy, one-image latency):")
    for method, settings in grid.items():
        for kw in settings:
            out = impute(model, x, mask, method=method, **kw)
            mse = float((out - xt)[m].square().mean())
            acc = float((clf.predict(out) == np.asarray(y)).mean())
            ms, _ = latency_ms(model, x[:1], mask[:1], method, repeats=10, **kw)
            print(f"  {method:<13} {str(kw):<45} MSE {mse:.5f}  acc {100 * acc:6.2f}%  {ms:7.2f} ms")


if __name__ == "__main__":
    raise SystemExit(main())

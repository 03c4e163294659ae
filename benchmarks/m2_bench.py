"""Semi-supervised MNIST benchmark: test error of M2 / M1+M2 per label budget, beside
Kingma et al. (2014)'s Table 1, with the wall time per run and the machine.

    .venv/bin/python benchmarks/m2_bench.py                       # 100 600 1000 3000, seed 0, CPU
    PYTHONPATH=. python3 benchmarks/m2_bench.py --device cuda --seeds 0 1 2 --workers 12

Every run is the `vae-explorer train --model ...` command line it prints (parsed by the
CLI's own parser), except that M1+M2 runs of one seed share one M1 (the VAE does not see
the labels, so it is the same for every budget). Runs go to --workers processes at once.
--save-dir keeps each checkpoint and a JSON of its command and metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PUBLISHED = {  # Kingma et al. 2014, Table 1: MNIST test error (%), mean (+- std) of runs
    100: ("11.97 (+-1.71)", "3.33 (+-0.14)"),
    600: ("4.94 (+-0.13)", "2.59 (+-0.05)"),
    1000: ("3.60 (+-0.56)", "2.40 (+-0.02)"),
    3000: ("3.92 (+-0.63)", "2.18 (+-0.04)"),
}


def machine(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(0)
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line), "")
        return f"{name or platform.processor()} ({os.cpu_count()} CPUs)"
    except (OSError, subprocess.SubprocessError):
        return f"{platform.processor()} ({os.cpu_count()} CPUs)"


def _load() -> float:
    """The 1-minute load average (other processes share this machine's cores)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def cli_args(opts: argparse.Namespace, labels: int, seed: int, out: str) -> list[str]:
    return [
        "train", "--model", opts.model, "--labels", str(labels), "--seed", str(seed),
        "--latent-dim", str(opts.latent_dim), "--epochs", str(opts.epochs),
        "--m1-epochs", str(opts.m1_epochs), "--m1-hidden-dim", opts.m1_hidden_dim,
        "--m1-activation", opts.m1_activation, "--alpha", str(opts.alpha), "--lr", str(opts.lr),
        "--lr-schedule", opts.lr_schedule,
        "--device", opts.device, "--out", out, "--quiet", "--labelled-weight", opts.labelled_weight,
        "--classifier-dropout", str(opts.classifier_dropout),
        *(["--m1-all-units"] if opts.m1_all_units else []),
    ]  # fmt: skip


def _job(argv: list[str]) -> Any:
    from vae_explorer.cli import build_parser
    from vae_explorer.commands.train import resolve_defaults
    from vae_explorer.commands.train_labelled import labelled_job
    from vae_explorer.core.training import TrainConfig

    args = build_parser().parse_args(argv)
    resolve_defaults(args)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
        seed=args.seed, device=args.device, log_every=1000,
    )  # fmt: skip
    return labelled_job(args, config)


LIMIT = int(os.environ.get("M2_BENCH_TRAIN_LIMIT", "0"))  # smoke tests: first N training images


def train_m1(argv: list[str], path: str) -> float:
    """Train the M1 of ``argv``'s job and save it; returns the seconds taken."""
    import torch

    from vae_explorer.core.checkpoints import save_checkpoint
    from vae_explorer.core.model import VAE
    from vae_explorer.core.training import TrainConfig, train

    torch.set_num_threads(1)
    job = _job(argv)
    start = time.perf_counter()
    torch.manual_seed(job.train_config.seed)
    m1 = VAE(job.model_config.m1_config)
    images = job.dataset_ref.load("train").images[: LIMIT or None]
    config = TrainConfig(epochs=job.m1_epochs, seed=job.train_config.seed, device=job.train_config.device)
    for _ in train(m1, images, config):
        pass
    save_checkpoint(m1.cpu(), path, {"m1_epochs": job.m1_epochs})
    return time.perf_counter() - start


def run_one(argv: list[str], m1_path: str | None, save: str | None) -> dict[str, Any]:
    import torch

    from vae_explorer.core.labelled import run_labelled_job
    from vae_explorer.core.labelled.pretrained import m1_from_checkpoint
    from vae_explorer.core.training import Snapshot, TrainingFinished, save_snapshot

    torch.set_num_threads(1)
    job = replace(_job(argv), train_limit=LIMIT or None)
    if m1_path:  # a VAE checkpoint, or an M1+M2 one whose M1 is reused
        m1, m1_epochs = m1_from_checkpoint(m1_path)
        job = replace(job, pretrained_m1=m1, m1_epochs=m1_epochs)
    start = time.perf_counter()
    last = finished = None
    for ev in run_labelled_job(job):
        if isinstance(ev, Snapshot):
            last = ev
        elif isinstance(ev, TrainingFinished):
            finished = ev
    assert last is not None and finished is not None
    seconds = time.perf_counter() - start
    metrics = finished.metadata["test_metrics"]
    curve = [round(r["test_error"], 4) for r in finished.history if r.get("phase") == "m2"]
    if save:
        save_snapshot(save, last, finished.metadata)
        record = {
            "checkpoint": save, "command": job.command, "train_seconds": round(seconds, 1),
            "test_metrics": metrics, "test_error_per_epoch": curve,
            "eval_command": f"vae-explorer eval {save}",
        }  # fmt: skip
        Path(save).with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return {"command": job.command, "error": metrics["error"], "seconds": seconds, "curve": curve}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("m2", "m1m2"), default="m1m2")
    p.add_argument("--budgets", type=int, nargs="+", default=[100, 600, 1000, 3000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--latent-dim", type=int, default=50)
    p.add_argument("--epochs", type=int, default=10, help="M2 epochs")
    p.add_argument("--m1-epochs", type=int, default=12)
    p.add_argument("--m1-hidden-dim", default="600", help="M1's hidden sizes, e.g. 600,600")
    p.add_argument("--m1-activation", choices=("tanh", "relu", "softplus"), default="tanh")
    p.add_argument("--m1", type=Path, default=None, help="one trained M1 (a VAE checkpoint) for every run")
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="cosine")
    p.add_argument("--labelled-weight", choices=("paper", "batch"), default="batch")
    p.add_argument("--classifier-dropout", type=float, default=0.0)
    p.add_argument("--m1-all-units", action="store_true", help="M2 models every M1 unit, not only the active")
    p.add_argument("--m1-dir", type=Path, default=None, help="reuse (or keep) M1 checkpoints here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--save-dir", type=Path, default=None, help="keep every checkpoint here")
    p.add_argument("--json", type=Path, default=None, help="write the results here too")
    opts = p.parse_args()
    work = opts.save_dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"m2-bench-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    started, load_at_start = time.perf_counter(), _load()
    pool = ProcessPoolExecutor(max_workers=opts.workers, mp_context=get_context("spawn"))
    m1_paths: dict[int, str | None] = {s: None for s in opts.seeds}
    m1_seconds: dict[int, float] = {}
    if opts.model == "m1m2":
        futures = {}
        shape = f"{opts.m1_hidden_dim.replace(',', 'x')}-{opts.m1_activation}"
        for s in opts.seeds:
            m1_paths[s] = path = str(
                opts.m1 or (opts.m1_dir or work) / f"m1-z50-{shape}-e{opts.m1_epochs}-s{s}.safetensors"
            )
            if not Path(path).exists():
                futures[s] = pool.submit(train_m1, cli_args(opts, 100, s, "unused"), path)
        m1_seconds = {s: f.result() for s, f in futures.items()}
        print(f"M1 trained: {', '.join(f'seed {s} {t:.0f} s' for s, t in m1_seconds.items())}", flush=True)
    runs = {}
    for b in opts.budgets:
        for s in opts.seeds:
            name = (
                f"{opts.model}-z{opts.latent_dim}-{opts.labelled_weight}-a{opts.alpha:g}"
                f"-d{opts.classifier_dropout:g}{'-allunits' if opts.m1_all_units else ''}"
                f"-{b}-s{s}.safetensors"
            )
            save = str(work / name) if opts.save_dir else None
            argv = cli_args(opts, b, s, save or str(work / name))
            runs[(b, s)] = pool.submit(run_one, argv, m1_paths[s], save)
    results = {key: f.result() for key, f in runs.items()}
    pool.shutdown()
    print(f"\n{opts.model} on MNIST, {machine(opts.device)}, {opts.workers} run(s) at once; "
          f"wall {time.perf_counter() - started:.0f} s in all; load average (1 min) "
          f"{load_at_start:.1f} at the start, {_load():.1f} at the end")  # fmt: skip
    print("labels | test error % (mean +- std over seeds) | runs | M2 published | M1+M2 published | s/run")
    table = []
    for b in opts.budgets:
        errs = [100 * results[(b, s)]["error"] for s in opts.seeds]
        secs = [results[(b, s)]["seconds"] + m1_seconds.get(s, 0.0) for s in opts.seeds]
        spread = statistics.stdev(errs) if len(errs) > 1 else 0.0
        m2, m1m2 = PUBLISHED.get(b, ("-", "-"))
        print(f"{b:6d} | {statistics.mean(errs):6.2f} +- {spread:4.2f} | {len(errs)} | {m2} | {m1m2} | "
              f"{statistics.mean(secs):.0f}")  # fmt: skip
        table.append({"labels": b, "errors": errs, "seconds": secs, "m2": m2, "m1m2": m1m2})
    for (b, s), r in results.items():
        print(f"  {b} labels seed {s}: per-epoch test error {r['curve']}")
        print(f"    {r['command']}")
    if opts.json:
        opts.json.write_text(json.dumps({"machine": machine(opts.device), "runs": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

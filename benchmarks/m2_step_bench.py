"""M2's hand-derived step (core/labelled/m2_step.py) against the autograd path it replaced
(m2_loss under bf16 autocast, loss.backward(), torch's fused Adam), on MNIST pixels.

    .venv/bin/python benchmarks/m2_step_bench.py               # ~8 min on 2 idle cores
    .venv/bin/python benchmarks/m2_step_bench.py --epochs 1 --epoch-rounds 1 --rounds 2

1. ms per step, bf16 products and float32, at one thread and at torch's default count: the
   paths take turns in each round (the machine's load drifts); the median of the rounds'
   medians, the best round, and on one thread the CPU time (robust to other processes
   taking turns on the cores).
2. The labelled job, 100 labels, same seed: the test error of a short run of each path;
   then seconds per epoch (training only, the runs' EpochSummary) of one-epoch runs of the
   two paths taking turns: bf16 products (auto) at the default thread count (the job's
   thread tuner then picks one or all) and on one thread (with its CPU time), float32.
Each path runs in this one process; every ratio compares figures measured in this run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import vae_explorer.core.labelled.job as job_module  # noqa: E402
from vae_explorer.core.data import load_dataset  # noqa: E402
from vae_explorer.core.labelled import LabelledConfig, LabelledJob, LossWeights, M2Networks, m2_loss  # noqa: E402
from vae_explorer.core.labelled.m2_step import M2Step  # noqa: E402
from vae_explorer.core.model import as_image_tensor  # noqa: E402
from vae_explorer.core.training import BatchMetrics, EpochSummary, TrainConfig, TrainingFinished  # noqa: E402
from vae_explorer.core.training.loop import adam  # noqa: E402
from vae_explorer.core.training.mlp_step import FusedAdam  # noqa: E402

PATHS = ("autograd", "hand")


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line), "?")


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


class Stepper:
    """One path's training step on fixed networks and batches."""

    def __init__(
        self, path: str, bf16: bool, config: LabelledConfig, x: torch.Tensor, y: torch.Tensor
    ) -> None:
        torch.manual_seed(0)
        self.nets, self.path, self.bf16 = M2Networks(config), path, bf16
        self.gen = torch.Generator().manual_seed(0)
        bl = bu = 100
        self.x_l, self.y_l, self.x_u = x[:bl], y[:bl], x[bl : bl + bu]
        self.weights = LossWeights.oversampled(bl, bu, 100, 60_000)
        self.hand = M2Step(self.nets, bf16) if path == "hand" else None
        self.opt = (
            FusedAdam(self.nets.parameters(), 1e-3)
            if self.hand
            else adam(self.nets, 1e-3, torch.device("cpu"))
        )

    def __call__(self) -> None:
        if self.hand is not None:
            draws = self.hand.draws(self.x_l.shape[0], self.x_u.shape[0], self.gen)
            self.hand(self.x_l, self.y_l, self.x_u, self.weights, draws)
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                loss, _ = m2_loss(self.nets, self.x_l, self.y_l, self.x_u, self.weights, self.gen)
            self.nets.zero_grad(set_to_none=True)
            loss.backward()
        self.opt.step()


def per_step(opts: argparse.Namespace, config: LabelledConfig) -> None:
    data = load_dataset("mnist", "train")
    x, y = as_image_tensor(data.images[:200]), torch.as_tensor(data.labels[:200]).long()
    default = torch.get_num_threads()
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        for bf16 in (True, False):
            steppers = {p: Stepper(p, bf16, config, x, y) for p in PATHS}
            wall: dict[str, list[float]] = {p: [] for p in PATHS}
            cpu: dict[str, list[float]] = {p: [] for p in PATHS}
            for _ in range(opts.rounds):
                for p, step in steppers.items():
                    for _ in range(5):
                        step()  # warm: caches, the allocator's pools
                    times, cpu_times = [], []
                    for _ in range(opts.steps):
                        t, c = time.perf_counter(), time.process_time()
                        step()
                        times.append(time.perf_counter() - t)
                        cpu_times.append(time.process_time() - c)
                    wall[p].append(statistics.median(times) * 1e3)
                    cpu[p].append(statistics.mean(cpu_times) * 1e3)
            old, new = (statistics.median(wall[p]) for p in PATHS)
            best_old, best_new = (min(wall[p]) for p in PATHS)
            line = f"  {threads} thread(s), {'bf16' if bf16 else 'fp32'}: wall autograd {old:6.2f} ms, hand "
            line += f"{new:6.2f} ms x{old / new:.2f} (best rounds {best_old:.1f} / {best_new:.1f} ms "
            line += f"x{best_old / best_new:.2f})"
            if threads == 1:
                old_cpu, new_cpu = (statistics.median(cpu[p]) for p in PATHS)
                line += f"; CPU {old_cpu:.1f} / {new_cpu:.1f} ms x{old_cpu / new_cpu:.2f}"
            rounds = "; ".join(f"{p} " + ", ".join(f"{v:.1f}" for v in wall[p]) for p in PATHS)
            print(f"{line}   (rounds: {rounds})", flush=True)
    torch.set_num_threads(default)


def run_job(
    path: str,
    precision: str,
    epochs: int,
    config: LabelledConfig,
    opts: argparse.Namespace,
    threads: int | None = None,
) -> dict:
    """One labelled run on ``path``: per epoch its wall seconds (EpochSummary: training
    only) and CPU seconds (from the first progress report to the last, scaled to the
    epoch's batches), the test errors and the final test ELBO."""
    real = job_module._hand_step
    job_module._hand_step = real if path == "hand" else (lambda nets, bf16: None)  # type: ignore[assignment]
    default = torch.get_num_threads()
    try:
        train = TrainConfig(
            epochs=epochs, batch_size=100, lr=3e-3, seed=opts.seed, matmul_precision=precision
        )
        job = LabelledJob(config, train, labels=100, labelled_batch=100, torch_threads=threads)
        seconds, cpu, finished, first = [], [], None, None
        for ev in job_module.run_labelled_job(job):
            if isinstance(ev, BatchMetrics):
                now = (ev.batch, time.process_time())
                first = first or now
                if ev.batch == ev.batches_per_epoch:
                    cpu.append((now[1] - first[1]) / (now[0] - first[0]) * ev.batches_per_epoch)
                    first = None
            elif isinstance(ev, EpochSummary):
                seconds.append(ev.seconds)
            elif isinstance(ev, TrainingFinished):
                finished = ev
        assert finished is not None
        errors = [r["test_error"] for r in finished.history if r.get("phase") == "m2"]
        elbo = finished.metadata["test_metrics"]["elbo"]
        return {"seconds": seconds, "cpu": cpu, "errors": errors, "elbo": elbo}
    finally:
        job_module._hand_step = real  # type: ignore[assignment]
        torch.set_num_threads(default)


def per_epoch(opts: argparse.Namespace, config: LabelledConfig) -> None:
    precision = "bfloat16" if opts.bf16 else "auto"
    if opts.epochs:
        print(f"test error, {opts.epochs}-epoch runs ({precision}), one path after the other:")
    for path in PATHS if opts.epochs else ():
        r = run_job(path, precision, opts.epochs, config, opts)
        errors = ", ".join(f"{100 * e:.2f}" for e in r["errors"])
        secs = ", ".join(f"{s:.1f}" for s in r["seconds"])
        print(f"  {path:8s}: test error % per epoch {errors}; test ELBO {r['elbo']:.2f}; s/epoch {secs}  "
              f"[load {load()}]", flush=True)  # fmt: skip
    if not opts.epoch_rounds:
        return
    print(f"seconds per epoch (training only; wall, and CPU on one thread), one-epoch runs of the "
          f"two paths taking turns, {opts.epoch_rounds} each, median:")  # fmt: skip
    for products, threads in ((precision, None), (precision, 1), ("float32", None)):
        wall: dict[str, list[float]] = {p: [] for p in PATHS}
        cpu: dict[str, list[float]] = {p: [] for p in PATHS}
        for _ in range(opts.epoch_rounds):
            for path in PATHS:
                r = run_job(path, products, 1, config, opts, threads)
                wall[path] += r["seconds"]
                cpu[path] += r["cpu"]
        old, new = (statistics.median(wall[p]) for p in PATHS)
        runs = "; ".join(f"{p} " + ", ".join(f"{s:.1f}" for s in wall[p]) for p in PATHS)
        line = f"  {products:8s} {threads or 'default':>7} thread(s): wall autograd {old:5.1f} s, "
        line += f"hand {new:5.1f} s x{old / new:.2f}"
        if threads == 1:
            old_cpu, new_cpu = (statistics.median(cpu[p]) for p in PATHS)
            line += f"; CPU autograd {old_cpu:5.1f} s, hand {new_cpu:5.1f} s x{old_cpu / new_cpu:.2f}"
        print(f"{line}   (wall: {runs})  [load {load()}]", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--latent-dim", type=int, default=50)
    p.add_argument("--hidden-dim", type=int, default=500)
    p.add_argument("--epochs", type=int, default=3, help="epochs of each path's test-error run (0: none)")
    p.add_argument(
        "--epoch-rounds", type=int, default=2, help="one-epoch runs per path and setting (0: none)"
    )
    p.add_argument("--bf16", action="store_true", help="bfloat16 products even where auto would not")
    p.add_argument("--steps", type=int, default=30, help="timed steps per path per round")
    p.add_argument("--rounds", type=int, default=5, help="rounds of the per-step part (0: skip it)")
    p.add_argument("--seed", type=int, default=0)
    opts = p.parse_args()
    config = LabelledConfig("m2", opts.latent_dim, opts.hidden_dim, "bernoulli", 500)
    bf16 = job_module.use_bf16_products("auto", torch.device("cpu"))
    print(f"M2 on MNIST pixels, z = {opts.latent_dim}, hidden {opts.hidden_dim}, classifier 500-500, batches "
          f"of 100 labelled + 100 unlabelled; {cpu_name()} ({os.cpu_count()} CPUs, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, native bf16: {bf16}); "
          f"load average {load()}")  # fmt: skip
    if opts.rounds:
        print("ms per step (the step and Adam):")
        per_step(opts, config)
    print(f"the labelled job, 100 labels, seed {opts.seed}:")
    per_epoch(opts, config)
    print(f"load average at the end {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

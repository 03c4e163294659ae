"""Speed of the exact 2-d posterior (issue 12) for both shipped MNIST models.

For each model: exact_posterior at 201 x 201 over test images (median, p90) beside a
reference measured in the same run (decoding all 40,401 grid points of one image in one
batch), its log p(x) against that directly decoded grid, then the data-set gap split timed
on a subset and extrapolated to 10,000 images (``--full``: all of them, with the gap table),
and its accuracy against stricter settings on a few images.

    .venv/bin/python benchmarks/posterior_bench.py [--images 50] [--subset 256] [--full]

Times are wall-clock; when other work shares the CPU (the load average is printed) they are
slower than on an idle machine, so compare each time with its reference in the same run.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.data import load_dataset
from vae_explorer.core.posterior import GAP_KEYS, exact_posterior, image_gaps
from vae_explorer.core.posterior import gaussian as posterior_gaussian
from vae_explorer.core.posterior import grid as posterior_grid
from vae_explorer.core.posterior.dataset import GAPS_GRID, IMAGES_PER_BATCH
from vae_explorer.core.posterior.grid import log_joint
from vae_explorer.core.posterior.solve import solve_batch

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mnist-bernoulli-z2", "mnist-gaussian-z2")


def cpu_name() -> str:
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def load() -> str:
    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


def as_x(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(image, dtype=torch.float32).reshape(1, 784) / 255


def grid_reference(model, image: np.ndarray, post) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(ms, log p(x)) of decoding all of the posterior's grid points in one batch (one thread,
    as exact_posterior runs) and summing them: the naive way, and the accuracy yardstick."""
    z = torch.from_numpy(np.stack(np.meshgrid(*post.z_axes, indexing="xy"), -1).reshape(1, -1, 2))
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        f = log_joint(model, as_x(image), z)[0]
        ms = 1000 * (time.perf_counter() - start)
    finally:
        torch.set_num_threads(saved)
    return ms, float(torch.logsumexp(f, 0)) + math.log(post.cell_area)


def single_images(model, images: np.ndarray, n: int) -> None:  # type: ignore[no-untyped-def]
    exact_posterior(model, images[0])  # warm up
    times, refs, diffs, nodes = [], [], [], []
    for i in range(n):
        start = time.perf_counter()
        post = exact_posterior(model, images[i])
        times.append(1000 * (time.perf_counter() - start))
        nodes.append(post.nodes)
        if i % 10 == 0:  # the reference between the timed calls, so both see the same load
            ms, log_px = grid_reference(model, images[i], post)
            refs.append(ms)
            diffs.append(abs(post.log_px - log_px))
    med, p90, ref = statistics.median(times), float(np.percentile(times, 90)), statistics.median(refs)
    print(f"  exact_posterior 201 x 201 over {n} test images: median {med:.0f} ms, p90 {p90:.0f} ms "
          f"(target 100 ms); reference (all 40,401 grid points decoded) {ref:.0f} ms in this run: "
          f"{ref / med:.1f} x the median")  # fmt: skip
    counts = {int(k): int(v) for k, v in zip(*np.unique(nodes, return_counts=True), strict=True)}
    print(f"  Chebyshev points per axis (count of images): {counts}; "
          f"log p(x) vs the decoded grid on {len(diffs)} images: max |diff| {max(diffs):.1e} nats "
          f"(limit 0.01)")  # fmt: skip


def stricter(model, images: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """The five quantities with stricter settings (33 Chebyshev points per axis to start, every
    Gauss-Hermite point of both ELBOs decoded): the accuracy yardstick for the fast split."""
    x = torch.as_tensor(images, dtype=torch.float32).reshape(len(images), -1) / 255
    s = solve_batch(model, x, GAPS_GRID, 33, decode_elbo=True)
    return {
        "log_px": s.log_px,
        "elbo": s.elbo,
        "total_gap": s.log_px - s.elbo,
        "approximation_gap": s.log_px - s.elbo_qstar,
        "amortisation_gap": s.elbo_qstar - s.elbo,
    }


def decode_reference(model, images: np.ndarray, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """How many decodes the 1-thread split of these images made, and how long decoding that many
    points in big batches takes in this run: the split's cost in units of pure decoding."""
    rows = [0]
    original = posterior_grid.log_likelihood_at

    def counting(model, x, z, workspace=None):  # type: ignore[no-untyped-def]
        rows[0] += z.shape[0] * z.shape[1]
        return original(model, x, z, workspace)

    posterior_grid.log_likelihood_at = posterior_gaussian.log_likelihood_at = counting  # type: ignore[assignment]
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image_gaps(model, images)
        per_image = rows[0] / len(images)
        z = torch.randn(1, 40_401, 2, generator=torch.Generator().manual_seed(0))
        x = as_x(images[0])
        log_joint(model, x, z)
        start = time.perf_counter()
        for _ in range(3):
            log_joint(model, x, z)
        per_decode = (time.perf_counter() - start) / (3 * z.shape[1])
    finally:
        posterior_grid.log_likelihood_at = posterior_gaussian.log_likelihood_at = original  # type: ignore[assignment]
        torch.set_num_threads(saved)
    pure = per_image * per_decode  # seconds per image
    print(f"  the split decodes {per_image:.0f} points per image; decoding that many in big batches takes "
          f"{1000 * pure:.1f} ms/image in this run (1 thread), so the 1-thread split runs at "
          f"{seconds / len(images) / pure:.2f} x pure decoding")  # fmt: skip


def gap_table(gaps: dict[str, np.ndarray]) -> None:
    for key in GAP_KEYS:
        print(f"    {key:<20}{gaps[key].mean():10.3f}")


def dataset(model, images: np.ndarray, subset: int, full: bool) -> None:  # type: ignore[no-untyped-def]
    image_gaps(model, images[:16])  # warm up
    n = min(subset, len(images))
    most = torch.get_num_threads()
    for threads in sorted({most, 1}, reverse=True):
        torch.set_num_threads(threads)  # image_gaps runs one worker thread per intra-op thread
        start, cpu = time.perf_counter(), time.process_time()
        gaps = image_gaps(model, images[:n])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        how = "1 thread" if threads == 1 else f"{threads} worker threads, one intra-op thread each"
        print(f"  gap split of the first {n} test images ({how}): {seconds:.1f} s = "
              f"{1000 * seconds / n:.1f} ms/image -> EXTRAPOLATED {seconds / n * 10_000:.0f} s for "
              f"10,000 (target 120 s); {cpu / n * 10_000:.0f} CPU-s per 10,000 ({load()})")  # fmt: skip
    torch.set_num_threads(most)
    decode_reference(model, images[:n], seconds)
    k = min(n, 64)
    ref = stricter(model, images[:k])
    worst = {key: float(np.abs(gaps[key][:k] - ref[key]).max()) for key in GAP_KEYS}
    print(
        f"  against stricter settings on {k} images, max |diff| (nats): "
        + ", ".join(f"{key} {v:.1e}" for key, v in worst.items())
    )
    if full:
        start, cpu = time.perf_counter(), time.process_time()
        gaps = image_gaps(model, images)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        verdict = "within" if seconds < 120 else "OVER"
        print(f"  FULL gap split of all {len(images)} test images: {seconds:.1f} s, {verdict} the 120 s "
              f"target ({cpu:.0f} CPU-s on {torch.get_num_threads()} threads; {load()})")  # fmt: skip
        gap_table(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=50, help="images for the single-image timing")
    parser.add_argument("--subset", type=int, default=256, help="images for the data-set timing")
    parser.add_argument("--full", action="store_true", help="also split all 10,000 test images")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="names under trained/")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {load()}")  # fmt: skip
    print("(a shared machine: times are upper bounds for an idle CPU; compare with the references)")
    images = load_dataset("mnist", "test").images
    for name in args.models:
        model = load_checkpoint(ROOT / "trained" / f"{name}.safetensors").model.eval()
        print(f"{name}:")
        single_images(model, images, min(args.images, len(images)))
        dataset(model, images, args.subset, args.full)
    print(f"done; {load()}; images per data-set batch {IMAGES_PER_BATCH}")


if __name__ == "__main__":
    main()

"""Core engine benchmark: training speed, matrix-product floors, memory, load, IWAE, quality.

    .venv/bin/python benchmarks/train_bench.py            # speed, memory, IWAE (~2 min)
    .venv/bin/python benchmarks/train_bench.py --iwae 0   # speed only
    .venv/bin/python benchmarks/train_bench.py --busy     # plus beside a busy-loop process
    .venv/bin/python benchmarks/train_bench.py --quality  # plus the 50-epoch seed run (~2-4 min)

Speed: the textbook DataLoader loop, the default step, the all-fp32 step and the floors
(the step's five 100x784x256-sized products alone, fp32 and bf16, for 600 steps).

Each measurement runs in its own subprocess so its peak memory is its own; every ratio
compares figures measured in this same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

BATCH = 100


def _mnist_x():
    import torch

    from vae_explorer.core.data import load_dataset

    imgs = load_dataset("mnist", "train").images
    return torch.as_tensor(imgs.reshape(-1, 784)).float() / 255.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_textbook(epochs: int) -> dict:
    """The loop of pytorch/examples' VAE, fed from memory: TensorDataset(images, labels) +
    DataLoader(batch_size=100, shuffle=True), Adam, BCE on the sigmoid output summed over the
    batch, ``loss.item()`` each batch. Same model and initialisation as ours."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from vae_explorer.core.model import VAE

    x = _mnist_x()
    labels = torch.zeros(x.shape[0], dtype=torch.long)
    torch.manual_seed(0)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, labels), batch_size=BATCH, shuffle=True)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        train_loss = 0.0
        for data, _ in loader:
            opt.zero_grad()
            mu, logvar = model.encode(data)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = model.decode(z)
            bce = F.binary_cross_entropy(recon, data, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = bce + kld
            loss.backward()
            train_loss += loss.item()
            opt.step()
        times.append(time.perf_counter() - start)
    return {"epoch_s": min(times), "peak_mb": _peak_mb()}


def _part_ours(epochs: int, precision: str, limit: int = 0, tuner: bool = True) -> dict:
    import torch

    import vae_explorer.core.training.loop as loop_module
    from vae_explorer.core.model import VAE
    from vae_explorer.core.training import EpochSummary, TrainConfig, train, use_bf16_products
    from vae_explorer.core.training.threads import ThreadTuner

    if not tuner:  # the caller's thread count throughout, as before the tuner existed
        loop_module.ThreadTuner = lambda enabled: ThreadTuner(enabled=False)  # type: ignore[assignment,misc]
    x = _mnist_x()[: limit or None]
    torch.manual_seed(0)
    model = VAE()
    config = TrainConfig(epochs=epochs, batch_size=BATCH, matmul_precision=precision)
    times = [ev.seconds for ev in train(model, x, config) if isinstance(ev, EpochSummary)]
    bf16 = use_bf16_products(precision, torch.device("cpu"))
    best = min(times)
    return {"epoch_s": best, "img_s": x.shape[0] / best, "peak_mb": _peak_mb(), "bf16": bf16,
            "threads": torch.get_num_threads()}  # fmt: skip


def part_ours(epochs: int) -> dict:
    """train() with its defaults (bf16 products where the CPU has them natively)."""
    return _part_ours(epochs, "auto")


def part_ours_fp32(epochs: int) -> dict:
    return _part_ours(epochs, "float32")


BUSY_IMAGES = 6000  # per epoch in the --busy runs: a spin-waiting run can be ~10x slower


def part_busy_tuned(epochs: int) -> dict:
    return _part_ours(epochs, "auto", BUSY_IMAGES)


def part_busy_fixed(epochs: int) -> dict:
    return _part_ours(epochs, "auto", BUSY_IMAGES, tuner=False)


def _floor(epochs: int, low: bool) -> dict:
    """The step's five large products alone (2 forward, 3 backward) for 600 steps, in the
    shapes, layouts and precision the step uses; nothing else."""
    import torch

    from vae_explorer.core.model import VAE

    m = VAE()
    dtype = torch.bfloat16 if low else torch.float32
    x = torch.rand(BATCH, 784).to(dtype)
    h = torch.rand(BATCH, 256).to(dtype)
    g_out = torch.rand(BATCH, 784).to(dtype)
    g_hid = torch.rand(BATCH, 256).to(dtype)
    w1, b1 = m.enc_hidden.weight.detach().to(dtype), m.enc_hidden.bias.detach().to(dtype)
    wo, bo = m.dec_out.weight.detach().to(dtype), m.dec_out.bias.detach().to(dtype)
    steps = 60000 // BATCH
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            if low:  # the step's bf16 products: plain matmuls, bias added in fp32 afterwards
                x @ w1.t()
                h @ wo.t()
            else:
                torch.addmm(b1, x, w1.t())  # encoder hidden layer
                torch.addmm(bo, h, wo.t())  # decoder output layer
            torch.mm(g_out.t(), h)  # its weight gradient
            torch.mm(g_out, wo)  # the gradient into the decoder's hidden layer
            torch.mm(g_hid.t(), x)  # the encoder's weight gradient
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"epoch_s": best, "img_s": 60000 / best, "peak_mb": _peak_mb()}


def part_floor(epochs: int) -> dict:
    return _floor(epochs, low=False)


def part_floor_bf16(epochs: int) -> dict:
    return _floor(epochs, low=True)


def part_iwae(k: int) -> dict:
    from pathlib import Path

    import torch

    from vae_explorer.core.checkpoints import load_checkpoint
    from vae_explorer.core.data import load_dataset
    from vae_explorer.core.evaluation import evaluate
    from vae_explorer.core.model import VAE

    shipped = Path(__file__).resolve().parents[1] / "trained" / "mnist-bernoulli-z2.safetensors"
    model = load_checkpoint(shipped).model if shipped.exists() else VAE()
    torch.manual_seed(0)
    test = load_dataset("mnist", "test").images
    start = time.perf_counter()
    metrics = evaluate(model, test, iwae_samples=k)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), **metrics}


def part_quality(epochs: int) -> dict:
    import torch

    from vae_explorer.core.data import load_dataset
    from vae_explorer.core.model import VAE
    from vae_explorer.core.training import EpochSummary, TrainConfig, train

    torch.manual_seed(0)
    model = VAE()
    train_set, test_set = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    curve = {}
    for ev in train(model, train_set.images, TrainConfig(epochs=epochs), test_set.images):
        if isinstance(ev, EpochSummary):
            curve[ev.epoch] = round(float(ev.test_elbo or "nan"), 3)
    return {"curve": curve}


PARTS = {
    "textbook": part_textbook,
    "ours": part_ours,
    "ours_fp32": part_ours_fp32,
    "floor": part_floor,
    "floor_bf16": part_floor_bf16,
    "busy_tuned": part_busy_tuned,
    "busy_fixed": part_busy_fixed,
    "iwae": part_iwae,
    "quality": part_quality,
}


def _run_part(name: str, arg: int, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--part", name, "--arg", str(arg)],
        capture_output=True, text=True, check=True, env={**os.environ, **(env or {})},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line)
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return "unknown CPU"


@contextlib.contextmanager
def _busy_core() -> Iterator[None]:
    """A second process spinning on one core for the duration (a browser, a build...)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        hog.kill()
        hog.wait()


def _speed(epochs: int) -> None:
    textbook = _run_part("textbook", epochs)
    ours = _run_part("ours", epochs)
    ours_fp32 = _run_part("ours_fp32", epochs)
    floor = _run_part("floor", epochs)
    floor_bf16 = _run_part("floor_bf16", epochs)
    native = ours["bf16"]
    rows = [
        ("textbook loop (pytorch/examples)", textbook, ""),
        (f"train(), default ({'bf16' if native else 'fp32'} products)", ours, ""),
        ("train(), all fp32", ours_fp32, ""),
        ("fp32 product floor (5 products)", floor, ""),
        ("bf16 product floor (5 products)", floor_bf16, "" if native else "  (bf16 not native here)"),
    ]
    for label, r, note in rows:
        img_s = 60000 / r["epoch_s"]
        print(f"{label:38s} {r['epoch_s']:7.3f} s/epoch {img_s:9,.0f} img/s  peak RSS "
              f"{r['peak_mb']:5.0f} MB{note}")  # fmt: skip
    speedup = textbook["epoch_s"] / ours["epoch_s"]
    print(f"default / textbook: {speedup:.2f}x faster (target >= 4x)  {'PASS' if speedup >= 4 else 'FAIL'}")
    own_floor = floor_bf16 if native else floor
    over = ours["epoch_s"] / own_floor["epoch_s"]
    print(f"default step / {'bf16' if native else 'fp32'} floor: {over:.2f}x (target <= 1.6x)  "
          f"{'PASS' if over <= 1.6 else 'MISS'}"
          + ("" if native else "  [no native bf16: the default is the fp32 path]"))  # fmt: skip
    print(f"all-fp32 step / fp32 floor: {ours_fp32['epoch_s'] / floor['epoch_s']:.2f}x; "
          f"bf16 floor / fp32 floor: {floor_bf16['epoch_s'] / floor['epoch_s']:.2f}x")  # fmt: skip


def _busy(epochs: int) -> None:
    print(f"\nunder background load: {BUSY_IMAGES:,} images per epoch, best of {epochs} epochs; "
          "'busy' = one extra process spinning on a core beside the run")  # fmt: skip
    for env in ({}, {"OMP_WAIT_POLICY": "PASSIVE"}):
        for part, label in (("busy_fixed", "all threads, no tuner"), ("busy_tuned", "default (tuner)")):
            idle = _run_part(part, epochs, env)
            with _busy_core():
                busy = _run_part(part, epochs, env)
            name = f"{label}{' + OMP_WAIT_POLICY=PASSIVE' if env else ''}"
            print(f"{name:48s} idle {idle['img_s']:8,.0f} img/s   busy {busy['img_s']:8,.0f} img/s   "
                  f"busy/idle {busy['img_s'] / idle['img_s']:5.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS)
    parser.add_argument("--arg", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per speed measurement")
    parser.add_argument("--iwae", type=int, default=1000, help="IWAE samples; 0 skips the IWAE timing")
    parser.add_argument("--quality", action="store_true", help="also train 50 epochs")
    parser.add_argument("--busy", action="store_true", help="also measure beside a busy-loop process")
    parser.add_argument("--skip-speed", action="store_true", help="skip the speed comparison")
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](args.arg)))
        return
    import torch

    print(f"{_cpu_model()}, {os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; best of {args.epochs} epochs each, 60,000 MNIST images, "
          "batch 100, 784-256-2 Bernoulli VAE. Ratios compare figures of this same run; on a "
          "machine shared with other work every figure is noisy.")  # fmt: skip
    if not args.skip_speed:
        _speed(args.epochs)
    if args.busy:
        _busy(max(2, args.epochs - 1))
    if args.iwae:
        iwae = _run_part("iwae", args.iwae)
        print(f"IWAE log-likelihood, K={args.iwae}, 10,000 test images: {iwae['seconds']:.1f} s "
              f"(target < 60 s) {'PASS' if iwae['seconds'] < 60 else 'FAIL'}; "
              f"log p(x) ~ {iwae['log_likelihood']:.2f}, ELBO {iwae['elbo']:.2f}, "
              f"peak RSS {iwae['peak_mb']:.0f} MB")  # fmt: skip
    if args.quality:
        q = _run_part("quality", 50)["curve"]
        print("test ELBO by epoch (seed config, default TrainConfig): "
              + ", ".join(f"{e}: {v}" for e, v in q.items() if int(e) % 10 == 0))  # fmt: skip
        final = q["50"]
        print(f"test ELBO at epoch 50: {final:.2f} (target >= -146) "
              f"{'PASS' if final >= -146 else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()

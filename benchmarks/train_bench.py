"""Core engine benchmark: training speed, matrix-product floor, memory, IWAE time, quality.

    .venv/bin/python benchmarks/train_bench.py            # speed, memory, IWAE (~2 min)
    .venv/bin/python benchmarks/train_bench.py --quality  # plus the 50-epoch seed run (~1.5 min)

Each measurement runs in its own subprocess so its peak memory is its own; every ratio
compares figures measured in this same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

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


def _part_ours(epochs: int, precision: str) -> dict:
    import torch

    from vae_explorer.core.model import VAE
    from vae_explorer.core.training import EpochSummary, TrainConfig, train, use_bf16_products

    x = _mnist_x()
    torch.manual_seed(0)
    model = VAE()
    config = TrainConfig(epochs=epochs, batch_size=BATCH, matmul_precision=precision)
    times = [ev.seconds for ev in train(model, x, config) if isinstance(ev, EpochSummary)]
    bf16 = use_bf16_products(precision, torch.device("cpu"))
    return {"epoch_s": min(times), "peak_mb": _peak_mb(), "bf16": bf16}


def part_ours(epochs: int) -> dict:
    """train() with its defaults (bf16 products where the CPU has them)."""
    return _part_ours(epochs, "auto")


def part_ours_fp32(epochs: int) -> dict:
    return _part_ours(epochs, "float32")


def part_floor(epochs: int) -> dict:
    """The step's five large products alone (2 forward, 3 backward), same shapes and layouts."""
    import torch

    from vae_explorer.core.model import VAE

    m = VAE()
    x = torch.rand(BATCH, 784)
    h = torch.rand(BATCH, 256)
    g_out = torch.rand(BATCH, 784)
    g_hid = torch.rand(BATCH, 256)
    w1, b1 = m.enc_hidden.weight.detach(), m.enc_hidden.bias.detach()
    wo, bo = m.dec_out.weight.detach(), m.dec_out.bias.detach()
    steps = 60000 // BATCH
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            torch.addmm(b1, x, w1.t())  # encoder hidden layer
            torch.addmm(bo, h, wo.t())  # decoder output layer
            torch.mm(g_out.t(), h)  # its weight gradient
            torch.mm(g_out, wo)  # the gradient into the decoder's hidden layer
            torch.mm(g_hid.t(), x)  # the encoder's weight gradient
        times.append(time.perf_counter() - start)
    return {"epoch_s": min(times), "peak_mb": _peak_mb()}


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
            curve[ev.epoch] = round(ev.test_elbo, 3)
    return {"curve": curve}


PARTS = {
    "textbook": part_textbook,
    "ours": part_ours,
    "ours_fp32": part_ours_fp32,
    "floor": part_floor,
    "iwae": part_iwae,
    "quality": part_quality,
}


def _run_part(name: str, arg: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--part", name, "--arg", str(arg)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS)
    parser.add_argument("--arg", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per speed measurement")
    parser.add_argument("--iwae", type=int, default=1000)
    parser.add_argument("--quality", action="store_true", help="also train 50 epochs")
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](args.arg)))
        return
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.epochs} "
          "epochs each, 60,000 MNIST images, batch 100, 784-256-2 Bernoulli VAE")  # fmt: skip
    textbook = _run_part("textbook", args.epochs)
    ours = _run_part("ours", args.epochs)
    ours_fp32 = _run_part("ours_fp32", args.epochs)
    floor = _run_part("floor", args.epochs)
    print(f"textbook loop (pytorch/examples) {textbook['epoch_s']:7.3f} s/epoch  "
          f"peak RSS {textbook['peak_mb']:6.0f} MB")  # fmt: skip
    print(f"vae_explorer train(), default     {ours['epoch_s']:7.3f} s/epoch  "
          f"peak RSS {ours['peak_mb']:6.0f} MB  (bf16 products: {ours['bf16']})")  # fmt: skip
    print(f"vae_explorer train(), all fp32    {ours_fp32['epoch_s']:7.3f} s/epoch  "
          f"peak RSS {ours_fp32['peak_mb']:6.0f} MB")  # fmt: skip
    print(f"matrix-product floor             {floor['epoch_s']:7.3f} s/epoch")
    speedup = textbook["epoch_s"] / ours["epoch_s"]
    over_floor = ours_fp32["epoch_s"] / floor["epoch_s"]
    print(f"speed-up over textbook: {speedup:.2f}x (target >= 3x)  "
          f"{'PASS' if speedup >= 3 else 'FAIL'}")  # fmt: skip
    print(f"all-fp32 step / its fp32 matrix-product floor: {over_floor:.2f}x (aim <= 1.6x)  "
          f"{'PASS' if over_floor <= 1.6 else 'MISS'}")  # fmt: skip
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

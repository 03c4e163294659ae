"""`vae-explorer train`: headless training with a progress bar; Ctrl-C saves what it has."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..core.devices import DEVICE_CHOICES
from ..core.model import ARCHS, LIKELIHOODS
from ..core.training import LR_SCHEDULES, MATMUL_PRECISIONS, TrainConfig
from ._common import add_dataset_arguments, die, positive_float, positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a VAE and save it as a .safetensors checkpoint",
        description="Train a VAE headless. Ctrl-C stops and saves the model trained so far.",
    )
    add_dataset_arguments(p)
    p.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli",
                   help="bernoulli = cross-entropy, gaussian = squared error")  # fmt: skip
    p.add_argument("--arch", choices=ARCHS, default="mlp")
    p.add_argument("--latent-dim", type=positive_int, default=2)
    p.add_argument("--hidden-dim", type=positive_int, default=256)
    p.add_argument("--epochs", type=positive_int, default=50)
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--lr", type=positive_float, default=TrainConfig.lr)
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule)
    p.add_argument("--beta", type=float, default=1.0, help="KL weight (1 = the ELBO)")
    p.add_argument("--matmul-precision", choices=MATMUL_PRECISIONS, default=TrainConfig.matmul_precision,
                   help="bf16 for the MLP's large products (auto: where the CPU has it)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--out", type=Path, required=True, help="checkpoint path (.safetensors)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..core.data import DatasetError
    from ..core.devices import DeviceError
    from ..core.model import ConfigError, VAEConfig
    from ..core.training import (
        BatchMetrics,
        EpochSummary,
        Snapshot,
        TrainingControl,
        TrainingFailed,
        TrainingFinished,
        TrainingJob,
        TrainingStarted,
        run_job,
        save_snapshot,
    )

    try:
        model_config = VAEConfig(args.latent_dim, args.hidden_dim, args.likelihood, args.arch)
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            lr_schedule=args.lr_schedule, beta=args.beta, seed=args.seed, device=args.device,
            matmul_precision=args.matmul_precision,
        )  # fmt: skip
    except ConfigError as exc:
        return die(str(exc))
    job = TrainingJob(
        model_config, config, dataset=str(args.data_dir) if args.data_dir else args.dataset,
        command=_reconstruct_command(args), download=args.download,
    )  # fmt: skip
    control = TrainingControl()
    ctrl_c = _CtrlC(control)
    bar = None
    last: Snapshot | None = None
    finished: TrainingFinished | None = None
    failure: str | None = None
    try:
        with ctrl_c:
            for ev in run_job(job, control):
                if isinstance(ev, TrainingStarted):
                    ctrl_c.training = True
                    bar = tqdm(
                        total=ev.epochs * ev.batches_per_epoch, unit="batch", disable=args.quiet,
                        dynamic_ncols=True, desc=f"train on {ev.device}",
                    )  # fmt: skip
                elif isinstance(ev, BatchMetrics) and bar is not None:
                    bar.update(ev.batches_per_epoch * (ev.epoch - 1) + ev.batch - bar.n)
                    bar.set_description(f"epoch {ev.epoch}/{config.epochs}")
                    bar.set_postfix(loss=f"{ev.loss:.2f}", kl=f"{ev.kl:.2f}",
                                    img_s=f"{ev.images_per_second:,.0f}")  # fmt: skip
                elif isinstance(ev, EpochSummary) and bar is not None:
                    bar.write(
                        f"epoch {ev.epoch:3d}  train loss {ev.train_loss:8.3f}  "
                        f"test ELBO {ev.test_elbo:9.3f}  ({ev.seconds:.2f} s)"
                    )
                elif isinstance(ev, Snapshot):
                    last = ev
                    if ctrl_c.interrupted and bar is not None:
                        bar.write("interrupted: saving the model trained so far")
                elif isinstance(ev, TrainingFailed):
                    failure = ev.message
                elif isinstance(ev, TrainingFinished):
                    finished = ev
    except DatasetError as exc:
        raise SystemExit(f"error: {exc}") from None
    except (ConfigError, DeviceError) as exc:
        return die(str(exc))
    finally:
        if bar is not None:
            bar.close()
    assert last is not None and finished is not None  # run_job ends with both
    path = save_snapshot(args.out, last, finished.metadata)
    metrics, seconds = finished.metadata["test_metrics"], finished.metadata["train_seconds"]
    print(
        f"saved {path} after {finished.epochs_completed} epoch(s) in {seconds:.1f} s: test ELBO "
        f"{metrics['elbo']:.3f}, reconstruction {metrics['recon']:.3f}, KL {metrics['kl']:.3f}"
    )
    if failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0


class _CtrlC:
    """While training, Ctrl-C asks the run to stop (it then saves what it has); before
    training starts, or a second time, it interrupts as usual."""

    def __init__(self, control: Any) -> None:
        self.control = control
        self.training = False
        self.interrupted = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.training or self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self.control.stop()

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _reconstruct_command(args: argparse.Namespace) -> str:
    """The full command with every setting spelled out, defaults included."""
    parts = ["vae-explorer", "train", "--dataset", args.dataset]
    if args.data_dir:
        parts += ["--data-dir", str(args.data_dir)]
    for flag in ("likelihood", "arch", "latent_dim", "hidden_dim", "epochs", "batch_size", "lr",
                 "lr_schedule", "beta", "matmul_precision", "seed", "device", "out"):  # fmt: skip
        parts += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    return " ".join(shlex.quote(p) for p in parts)

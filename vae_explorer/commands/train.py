"""`vae-explorer train`: headless training with a progress bar.

``--model m2`` / ``--model m1m2`` train Kingma et al. (2014)'s semi-supervised models from
``--labels`` labelled images (balanced over the classes, chosen by the seed; ``all`` = a
conditional VAE); the progress bar then shows the test error.

Ctrl-C, SIGTERM and SIGHUP stop the run and save the model trained so far. The output
path is checked before training starts; if saving still fails at the end, the model is
saved to a fallback file and the message says where. A run that diverges saves its last
good weights as NAME.last-good.safetensors (never under the name asked for) and exits 1.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..core.devices import DEVICE_CHOICES
from ..core.model import ACTIVATIONS, ARCHS, LIKELIHOODS
from ..core.training import LR_SCHEDULES, MATMUL_PRECISIONS, TrainConfig
from . import _common
from ._common import (
    add_command,
    add_dataset_arguments,
    add_seed_argument,
    bounded_int,
    die,
    finite_float,
    hidden_sizes,
    hidden_text,
    positive_float,
    positive_int,
    progress_bar,
)
from .train_labelled import LABELLED_LR, add_labelled_arguments, labelled_command_parts, labelled_job
from .train_output import kept_from_replacing, last_good_path, save_with_fallback

STOP_SIGNALS = (signal.SIGINT, *_common.STOP_SIGNALS)  # Ctrl-C too: the run saves first


def add_parser(sub: Any) -> None:
    p = add_command(
        sub,
        "train",
        help="train a VAE and save it as a .safetensors checkpoint",
        description=__doc__,
    )
    add_dataset_arguments(p)
    add_labelled_arguments(p)
    p.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli",
                   help="bernoulli = cross-entropy, gaussian = squared error")  # fmt: skip
    p.add_argument("--arch", choices=ARCHS, default="mlp", help="encoder/decoder networks")
    p.add_argument("--latent-dim", type=positive_int, default=2, help="size of the latent code z")
    p.add_argument("--hidden-dim", type=hidden_sizes, default=None, metavar="N[,N...]",
                   help="units in the hidden layer, or a list from the image inwards, e.g. 200,200 "
                   "(default: 256 for a VAE, 500 for m2/m1m2)")  # fmt: skip
    p.add_argument("--activation", choices=ACTIVATIONS, default="tanh",
                   help="the MLP's hidden-layer activation")  # fmt: skip
    p.add_argument("--epochs", type=bounded_int(1, 100_000), default=50, help="passes over the training set")
    p.add_argument("--batch-size", type=positive_int, default=100, help="images per optimiser step")
    p.add_argument("--lr", type=positive_float, default=None,
                   help=f"peak learning rate of Adam (default: {TrainConfig.lr:g} for a VAE, "
                   f"{LABELLED_LR:g} for m2/m1m2)")  # fmt: skip
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule,
                   help="how the learning rate changes over the run")  # fmt: skip
    p.add_argument("--beta", type=finite_float, default=1.0, help="KL weight (1 = the ELBO)")
    p.add_argument(
        "--kl-warmup", type=finite_float, default=0.0, metavar="EPOCHS", dest="kl_warmup",
        help="raise the KL weight linearly from ~0 to --beta over this many epochs (keeps more "
        "latent units in use); 0 = off",
    )  # fmt: skip
    p.add_argument("--matmul-precision", choices=MATMUL_PRECISIONS, default=TrainConfig.matmul_precision,
                   help="bf16 for the MLP's large products (auto: where the CPU has it)")  # fmt: skip
    add_seed_argument(p)
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to train")
    p.add_argument("--out", type=Path, required=True, help="checkpoint path (.safetensors)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def resolve_defaults(args: argparse.Namespace) -> None:
    """Fill in the defaults that depend on --model."""
    labelled = args.model != "vae"
    if args.hidden_dim is None:
        args.hidden_dim = 500 if labelled else 256
    if args.lr is None:
        args.lr = LABELLED_LR if labelled else TrainConfig.lr


def run(args: argparse.Namespace) -> int:
    from ..core.devices import DeviceError, resolve_device
    from ..core.files import check_writable, show_path
    from ..core.model import ConfigError, VAEConfig
    from ..core.training import TrainingJob

    resolve_defaults(args)
    try:
        model_config = VAEConfig(
            args.latent_dim, args.hidden_dim, args.likelihood, args.arch, args.activation
        )
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            lr_schedule=args.lr_schedule, beta=args.beta, seed=args.seed, device=args.device,
            matmul_precision=args.matmul_precision, kl_warmup_epochs=args.kl_warmup,
        )  # fmt: skip
        resolve_device(args.device)
    except (ConfigError, DeviceError) as exc:
        return die(str(exc))
    try:  # before training, so a run never ends with nowhere to put its result
        check_writable(args.out)
    except OSError as exc:
        return die(
            f"cannot write the checkpoint to {show_path(args.out)}: {_reason(exc)} (nothing was trained)"
        )
    kept = kept_from_replacing(args)
    if kept:
        return die(f"{kept} (nothing was trained)")
    if args.model != "vae":
        try:
            job: Any = labelled_job(args, config, _reconstruct_command)
        except ConfigError as exc:
            return die(str(exc))
        return _Run(
            args, config.epochs + (args.m1_epochs if args.model == "m1m2" and args.m1 is None else 0)
        ).train(job)
    job = TrainingJob(
        model_config, config, dataset=str(args.data_dir) if args.data_dir else args.dataset,
        command=_reconstruct_command(args), download=args.download,
    )  # fmt: skip
    return _Run(args, config.epochs).train(job)


class _Run:
    """One CLI training run: the progress bar, the stop signals and the final save."""

    def __init__(self, args: argparse.Namespace, epochs: int) -> None:
        self.args = args
        self.epochs = epochs
        self.bar: Any = None
        self.labelled = False
        self.test_error: float | None = None
        self.told_stop = False  # "saving the model trained so far" was written

    def train(self, job: Any) -> int:
        from ..core.data import DatasetError
        from ..core.devices import DeviceError
        from ..core.labelled import LabelledJob, run_labelled_job
        from ..core.model import ConfigError
        from ..core.training import TrainingControl, run_job

        control = TrainingControl()
        stop = _StopSignals(control)
        last = finished = failure = None
        events = run_labelled_job(job, control) if isinstance(job, LabelledJob) else run_job(job, control)
        self.labelled = isinstance(job, LabelledJob)
        try:
            with stop:
                for ev in events:
                    last, finished, failure = self._show(ev, stop, last, finished, failure)
                assert last is not None and finished is not None  # run_job ends with both
                stop.saving = True  # a signal now must not cut the save short
                return self._save(last, finished, failure, stop)
        except DatasetError as exc:
            return die(str(exc))
        except (ConfigError, DeviceError) as exc:
            return die(str(exc))
        finally:
            self._quietly(lambda: self.bar is not None and self.bar.close())

    def _show(
        self, ev: Any, stop: _StopSignals, last: Any, finished: Any, failure: Any
    ) -> tuple[Any, Any, Any]:
        """Display one event; returns the (last snapshot, finish, failure) seen so far."""
        from ..core.training import (
            BatchMetrics,
            EpochSummary,
            Snapshot,
            TrainingFailed,
            TrainingFinished,
            TrainingStarted,
        )

        if stop.signal_name and not self.told_stop:  # (once: every event after the signal)
            self.told_stop = True
            self._write(f"interrupted ({stop.signal_name}): saving the model trained so far")
        if isinstance(ev, TrainingStarted):
            stop.training = True
            total = ev.epochs * ev.batches_per_epoch
            self.bar = progress_bar(total, f"train on {ev.device}", "batch", quiet=self.args.quiet)
        elif isinstance(ev, BatchMetrics) and self.bar is not None:
            bar = self.bar

            def update() -> None:
                bar.update(ev.batches_per_epoch * (ev.epoch - 1) + ev.batch - bar.n)
                bar.set_description(f"epoch {ev.epoch}/{self.epochs}")
                shown = {"loss": f"{ev.loss:.2f}", "kl": f"{ev.kl:.2f}"}
                if self.test_error is not None:
                    shown["test_err"] = f"{100 * self.test_error:.2f}%"
                bar.set_postfix(**shown, img_s=f"{ev.images_per_second:,.0f}")

            self._quietly(update)
        elif isinstance(ev, EpochSummary):
            tested = "" if ev.test_elbo is None else f"test ELBO {ev.test_elbo:9.3f}  "
            self._write(f"epoch {ev.epoch:3d}  train loss {ev.train_loss:8.3f}  {tested}({ev.seconds:.2f} s)")
        elif isinstance(ev, Snapshot):
            last = ev
            if ev.history and "test_error" in ev.history[-1]:
                self.test_error = ev.history[-1]["test_error"]
                self._write(f"          test error {100 * self.test_error:.2f}%")
        elif isinstance(ev, TrainingFailed):
            failure = ev
        elif isinstance(ev, TrainingFinished):
            finished = ev
        return last, finished, failure

    def _save(self, last: Any, finished: Any, failure: Any, stop: _StopSignals) -> int:
        from ..core.files import show_path

        out = Path(self.args.out)
        target = last_good_path(out) if failure is not None else out
        path, problem = save_with_fallback(target, last, finished.metadata)
        metrics, seconds = finished.metadata["test_metrics"], finished.metadata["train_seconds"]
        if self.labelled and metrics is None:  # stopped while M1 trained
            summary = f"in M1's phase after {seconds:.1f} s: M2 never trained"
        elif self.labelled:
            summary = (
                f"after {finished.epochs_completed} M2 epoch(s) in {seconds:.1f} s: test error "
                f"{100 * metrics['error']:.2f}%, ELBO {metrics['elbo']:.3f}"
            )
        else:
            summary = (
                f"after {finished.epochs_completed} epoch(s) in {seconds:.1f} s: test ELBO "
                f"{metrics['elbo']:.3f}, reconstruction {metrics['recon']:.3f}, KL {metrics['kl']:.3f}"
            )
        self._quietly(lambda: self.bar is not None and self.bar.close())
        what = "the last good weights" if failure is not None else "the model"
        if failure is not None:
            _say(f"error: {failure.message}")
        if path is None:
            return die(f"{problem}; {what} could not be saved anywhere else either", 1)
        if problem:
            _say(f"error: {problem}")
            _say(f"saved {what} to {show_path(path)} instead, {summary}")
            return 1
        if failure is not None:
            _say(
                f"saved the last good weights as {show_path(path)} ({summary}); "
                f"{show_path(out)} was not written, because the run failed"
            )
            return 1
        _say(f"saved {show_path(path)} {summary}", err=False)
        return 0

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self._quietly(lambda: self.bar.write(line))

    def _quietly(self, action: Any) -> None:
        """Run a display action; a terminal that is gone (SIGHUP) turns the display off
        instead of stopping the run before it saves."""
        try:
            action()
        except (OSError, ValueError):
            if self.bar is not None:
                self.bar.disable = True


def _say(line: str, err: bool = True) -> None:
    try:
        print(line, file=sys.stderr if err else sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def _reason(exc: OSError) -> str:
    from ..core.files import show_path

    text = str(exc.strerror or exc)
    if exc.filename is not None and isinstance(exc, FileNotFoundError):
        return f"the folder {show_path(exc.filename)} does not exist"
    return text[0].lower() + text[1:] if text else text


class _StopSignals:
    """While training, Ctrl-C, SIGTERM and SIGHUP ask the run to stop (it then saves what
    it has); before training starts they interrupt as Ctrl-C does. Once the run is stopping,
    more of them are noted and ignored: the stop takes a batch and the save a moment, and a
    second, impatient Ctrl-C used to throw the whole run away (Ctrl-\\ still quits at once)."""

    def __init__(self, control: Any) -> None:
        self.control = control
        self.training = False
        self.saving = False
        self.signal_name = ""
        self.repeated = False  # a signal came while stopping or saving (told once)
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.saving or self.signal_name:
            if not self.repeated:
                self.repeated = True
                # (os.write: safe wherever the signal lands, even inside a print)
                os.write(2, b"\nstill stopping: the model is saved first (Ctrl-\\ quits at once, unsaved)\n")
            return
        if not self.training:
            raise KeyboardInterrupt(name if signum != signal.SIGINT else "")
        self.signal_name = name
        self.control.stop()

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _reconstruct_command(args: argparse.Namespace) -> str:
    """The full command with every setting spelled out, defaults included."""
    parts = ["vae-explorer", "train", "--dataset", args.dataset]
    if args.data_dir:
        parts += ["--data-dir", str(args.data_dir)]
    parts += labelled_command_parts(args)
    for flag in ("likelihood", "arch", "latent_dim", "hidden_dim", "activation", "epochs", "batch_size",
                 "lr", "lr_schedule", "beta", "kl_warmup", "matmul_precision", "seed", "device",
                 "out"):  # fmt: skip
        parts += ["--" + flag.replace("_", "-"), hidden_text(getattr(args, flag))]
    return " ".join(shlex.quote(p) for p in parts)

"""The labelled-model side of `vae-explorer train`: ``--model m2|m1m2`` and its options.

Kingma et al. (2014)'s semi-supervised models learn from ``--labels`` labelled images
(balanced over the classes, chosen by the seed; ``all`` = a conditional VAE). M1+M2 first
trains (or reuses, ``--m1``) a VAE whose active latent units M2 then models.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.model import ACTIVATIONS
from ..core.training import TrainConfig
from ._common import bounded_int, finite_float, hidden_sizes, hidden_text, positive_int

MODEL_CHOICES = ("vae", "m2", "m1m2")
LABELLED_LR = 1e-3


def label_count(text: str) -> int | None:
    """--labels: 'all' (None) or a whole multiple of 10."""
    if text.strip().lower() == "all":
        return None
    count = bounded_int(10, 10_000_000, "images")(text)
    if count % 10:
        raise argparse.ArgumentTypeError(f"must be a multiple of 10 (as many of each class), got {count}")
    return count


def dropout_rate(text: str) -> float:
    value = finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def add_labelled_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODEL_CHOICES, default="vae",
                   help="vae; m2 = semi-supervised M2 on pixels; m1m2 = M2 on a VAE's latents")  # fmt: skip
    p.add_argument("--labels", type=label_count, default=100,
                   help="labelled images for m2/m1m2: a multiple of 10, or 'all'")  # fmt: skip
    p.add_argument("--alpha", type=finite_float, default=0.1,
                   help="m2/m1m2: classification weight per image (the paper's alpha / N)")  # fmt: skip
    p.add_argument("--m1-epochs", type=bounded_int(1, 100_000), default=30,
                   help="m1m2: epochs of the VAE (M1) trained first on all images")  # fmt: skip
    p.add_argument("--m1", type=Path, default=None, metavar="CHECKPOINT",
                   help="m1m2: reuse this M1 (a VAE checkpoint, or an m1m2 one's M1) instead of "
                   "training one; it sets --m1-latent-dim, --m1-hidden-dim, --m1-activation and "
                   "--likelihood")  # fmt: skip
    p.add_argument("--m1-latent-dim", type=positive_int, default=50, help="m1m2: M1's latent size")
    p.add_argument("--m1-hidden-dim", type=hidden_sizes, default=600, metavar="N[,N...]",
                   help="m1m2: M1's hidden units, or a list of layer sizes (the paper: 600,600)")  # fmt: skip
    p.add_argument("--m1-activation", choices=ACTIVATIONS, default="tanh",
                   help="m1m2: M1's hidden-layer activation (the paper: softplus)")  # fmt: skip
    p.add_argument("--classifier-hidden-dim", type=positive_int, default=500,
                   help="m2/m1m2: units in each of q(y|x)'s two hidden layers")  # fmt: skip
    p.add_argument("--labelled-batch", type=positive_int, default=100,
                   help="m2/m1m2: labelled images in every batch (cycled)")  # fmt: skip
    p.add_argument("--labelled-weight", choices=("paper", "batch"), default="batch",
                   help="batch: labelled images weigh as many as unlabelled ones (labels "
                   "oversampled; better with few labels); paper: they weigh N_l/N (the paper's "
                   "objective)")  # fmt: skip
    p.add_argument("--m1-all-units", action="store_true",
                   help="m1m2: let M2 model every M1 latent unit (default: only the active ones, "
                   "M1 cut down to them)")  # fmt: skip
    p.add_argument("--classifier-dropout", type=dropout_rate, default=0.0, metavar="P",
                   help="m2/m1m2: drop each of q(y|x)'s hidden units with this probability in "
                   "training steps (0 = none)")  # fmt: skip


def labelled_job(
    args: argparse.Namespace, config: TrainConfig, command: Callable[[argparse.Namespace], str] | None = None
) -> Any:
    """The LabelledJob of an m2/m1m2 command line (ConfigError for bad settings);
    ``command`` spells out the full command line recorded in the checkpoint (called once
    --m1's sizes are known)."""
    from ..core.labelled import LabelledConfig, LabelledJob
    from ..core.model import ConfigError

    if args.arch != "mlp":
        raise ConfigError("m2 and m1m2 models are MLPs: leave --arch at mlp")
    if isinstance(args.hidden_dim, tuple) or args.activation != "tanh":
        raise ConfigError("m2's networks have one tanh hidden layer: give --hidden-dim one size "
                          "(M1's layers: --m1-hidden-dim, --m1-activation)")  # fmt: skip
    if args.model == "m2" and args.m1_all_units:
        raise ConfigError("--m1-all-units is for --model m1m2 only")
    if args.model == "m2" and config.kl_warmup_epochs:
        raise ConfigError("--kl-warmup applies to a VAE and to m1m2's M1, not to m2")
    m1 = _pretrained_m1(args)
    model_config = LabelledConfig(
        args.model, args.latent_dim, args.hidden_dim, args.likelihood, args.classifier_hidden_dim,
        args.m1_latent_dim, args.m1_hidden_dim, m1_activation=args.m1_activation,
        classifier_dropout=args.classifier_dropout,
    )  # fmt: skip
    return LabelledJob(
        model_config, config, labels=args.labels, alpha=args.alpha, m1_epochs=args.m1_epochs,
        labelled_batch=args.labelled_batch, labelled_weight=args.labelled_weight,
        m1_active_only=not args.m1_all_units, dataset=str(args.data_dir) if args.data_dir else args.dataset,
        command=command(args) if command else "", download=args.download, pretrained_m1=m1,
    )  # fmt: skip


def _pretrained_m1(args: argparse.Namespace) -> Any:
    """--m1's VAE (its sizes copied into ``args``), or None; ConfigError if unusable."""
    from ..core.labelled.pretrained import m1_from_checkpoint
    from ..core.model import ConfigError

    if getattr(args, "m1", None) is None:
        return None
    if args.model != "m1m2":
        raise ConfigError("--m1 is for --model m1m2 only")
    model, args.m1_epochs = m1_from_checkpoint(args.m1)
    _probe_m1(args, model)
    c = model.config
    args.m1_latent_dim, args.m1_hidden_dim, args.m1_activation = c.latent_dim, c.hidden_dim, c.activation
    args.likelihood = c.likelihood
    return model


def _probe_m1(args: argparse.Namespace, model: Any) -> None:
    """ConfigError if --m1's VAE computes non-finite values on a few test images (damaged
    weights: M2 would fail in its first batch). Data that cannot be read is left to the
    run itself to report."""
    from ..core.data import DatasetError, load_dataset
    from ..core.model import ConfigError
    from ..core.model_probe import DamagedModelError, check_model

    try:
        test = load_dataset(args.dataset, "test", root=args.data_dir, download=args.download)
    except DatasetError:
        return
    try:
        check_model(model, test.images, args.m1)
    except DamagedModelError as exc:
        raise ConfigError(f"--m1 {exc}") from None


def labelled_command_parts(args: argparse.Namespace) -> list[str]:
    """The labelled options of the reconstructed command line (none for a VAE)."""
    if args.model == "vae":
        return []
    parts = ["--model", args.model, "--labels", "all" if args.labels is None else str(args.labels)]
    parts += ["--alpha", str(args.alpha), "--classifier-hidden-dim", str(args.classifier_hidden_dim)]
    parts += ["--labelled-batch", str(args.labelled_batch), "--labelled-weight", args.labelled_weight]
    if args.classifier_dropout:
        parts += ["--classifier-dropout", str(args.classifier_dropout)]
    if args.model == "m1m2":
        if getattr(args, "m1", None) is None:  # a given M1 was trained by its own command
            parts += ["--m1-epochs", str(args.m1_epochs)]
        parts += ["--m1-latent-dim", str(args.m1_latent_dim)]
        parts += ["--m1-hidden-dim", hidden_text(args.m1_hidden_dim)]
        parts += ["--m1-activation", args.m1_activation]
        if args.m1_all_units:
            parts += ["--m1-all-units"]
        if getattr(args, "m1", None) is not None:
            parts += ["--m1", str(args.m1)]
    return parts

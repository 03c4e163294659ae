"""`vae-explorer gaps CKPT`: the test set's inference gaps (Cremer et al. 2018), exact in 2-d.

For a 2-d latent: mean log p(x) (grid quadrature), ELBO, and the total gap split into the
approximation and amortisation gaps. Other latent sizes: the ELBO and the importance-weighted
estimate of log p(x) (K = 5000), and a note that the split needs a 2-d latent.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ._common import (
    add_command,
    add_dataset_arguments,
    bounded_int,
    check_model_or_exit,
    die,
    exit_if_nonfinite,
    positive_int,
)

IWAE_K = 5000

_LABELS = {
    "log_px": "log p(x) (exact, grid)",
    "elbo": "ELBO (encoder's q)",
    "total_gap": "total gap = KL(q || posterior)",
    "approximation_gap": "  approximation gap",
    "amortisation_gap": "  amortisation gap",
}


def add_parser(sub: Any) -> None:
    p = add_command(sub, "gaps", help="print the test set's inference gaps (exact for a 2-d latent)",
                    description=__doc__)  # fmt: skip
    p.add_argument("checkpoint", help="a .safetensors model")
    add_dataset_arguments(p, default=None)
    p.add_argument("--limit", type=positive_int, metavar="N", help="only the first N test images")
    p.add_argument("--grid", type=bounded_int(16, 2001, "grid points per axis"), default=None, metavar="G",
                   help="quadrature grid points per axis (default 64)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.files import show_path, show_text
    from ..core.posterior import PosteriorError, image_gaps
    from ..core.posterior.dataset import GAPS_GRID
    from ._common import load_split, progress_bar, recorded_dataset

    grid = GAPS_GRID if args.grid is None else args.grid
    try:
        ckpt = load_checkpoint(args.checkpoint)
        model = ckpt.require_vae("gaps")
    except CheckpointError as exc:
        return die(str(exc))
    if args.dataset is None:
        args.dataset = recorded_dataset(ckpt.metadata)
    images = load_split(args, "test").images
    if args.limit is not None:
        images = images[: args.limit]
    check_model_or_exit(model, images, args.checkpoint)
    print(f"{show_path(args.checkpoint)} on {show_text(args.dataset)} test ({len(images)} images)")
    start = time.perf_counter()
    with progress_bar(
        len(images), "gaps" if model.latent_dim == 2 else f"IWAE K={IWAE_K}", "img", args.quiet
    ) as bar:

        def progress(done: int, total: int = 0) -> None:
            bar.update(done - bar.n)

        try:
            if model.latent_dim != 2:
                return _iwae_only(model, images, progress, args.checkpoint)
            per_image = image_gaps(model, images, progress=progress, grid=grid)
        except (PosteriorError, ValueError) as exc:
            return die(str(exc))
    seconds = time.perf_counter() - start
    means = {key: per_image[key].mean() for key in _LABELS}
    exit_if_nonfinite(args.checkpoint, {_LABELS[key].strip(): value for key, value in means.items()})
    print(f"  ({seconds:.1f} s; nats per image, mean over the images)")
    for key, label in _LABELS.items():
        print(f"  {label:<32}{means[key]:10.3f}")
    return 0


def _iwae_only(model: Any, images: Any, progress: Any, path: str) -> int:
    """ELBO and the K = 5000 importance-weighted estimate (core chunks it: bounded memory)."""
    from ..core.evaluation import evaluate

    metrics = evaluate(model, images, iwae_samples=IWAE_K, progress=progress)
    exit_if_nonfinite(path, metrics)
    print(f"  ELBO                            {metrics['elbo']:10.3f}")
    print(f"  log p(x) (IWAE, K={IWAE_K})        {metrics['log_likelihood']:10.3f}")
    print(
        "  the split into approximation and amortisation gaps needs a 2-d latent "
        f"(this model's has {model.latent_dim} dimensions)"
    )
    return 0

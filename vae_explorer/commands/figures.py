"""`vae-explorer figures CKPT --out DIR`: the seed article's pictures for a checkpoint.

Writes three PNGs named after the checkpoint: the decoded latent grid (the manifold),
the test latents coloured by label with a legend, and imputation rows (original, masked,
then each method's imputation) for the middle-rows mask. Text is drawn with Qt, offscreen.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ._common import add_dataset_arguments, die, positive_int


def add_parser(sub: Any) -> None:
    from ..core.imputation import METHODS
    from ..core.masks import DEFAULT_MASK, MASK_NAMES

    p = sub.add_parser("figures", help="write PNG figures for a checkpoint", description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="folder for the PNGs (created if needed)")
    p.add_argument("--grid", type=positive_int, default=20, help="latent grid size (default 20)")
    p.add_argument("--scatter", type=positive_int, default=10_000,
                   help="test images in the latent scatter (default 10000)")  # fmt: skip
    p.add_argument("--digits", type=positive_int, default=10,
                   help="test digits in the imputation figure (default 10)")  # fmt: skip
    p.add_argument("--mask", default=DEFAULT_MASK, choices=MASK_NAMES)
    p.add_argument("--methods", default=",".join(METHODS),
                   help="imputation rows to show, comma-separated (default all)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prefix", default=None, help="file name prefix (default: checkpoint name)")
    add_dataset_arguments(p, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.figures import imputation_figure, latent_grid_figure
    from ..core.imputation import METHODS, impute
    from ..core.latent import encode_images
    from ..core.masks import make_mask
    from ._common import load_split

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if any(m not in METHODS for m in methods):
        return die(f"--methods must be taken from {', '.join(METHODS)}")
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        return die(str(exc))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ..gui.figure_render import render_labelled_image, render_latent_scatter

    model = ckpt.model.cpu().eval()
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return die(f"cannot create {out}: {exc.strerror or exc}")
    if args.dataset is None:
        args.dataset = str(ckpt.metadata.get("dataset", "mnist"))
    test = load_split(args, "test")
    prefix = args.prefix or Path(args.checkpoint).name.removesuffix(".safetensors")
    desc = f"{model.config.likelihood}, z={model.latent_dim}"
    note = "" if model.latent_dim == 2 else " (first two latent dimensions)"
    written = []

    grid = latent_grid_figure(model, n=args.grid)
    written.append(render_labelled_image(
        grid, out / f"{prefix}-latent-grid.png", title=f"Decoded latent grid ({desc}){note}",
        scale=1 if args.grid >= 16 else 2,
    ))  # fmt: skip

    n = min(args.scatter, len(test))
    mu, _ = encode_images(model, test.images[:n])
    written.append(render_latent_scatter(
        mu, test.labels[:n], list(test.classes), out / f"{prefix}-latents.png",
        title=f"Test latents by label ({desc}){note}",
    ))  # fmt: skip

    k = min(args.digits, len(test))
    pick = _one_of_each_class(test.labels, k)
    x = test.images[pick].reshape(k, -1)
    mask = make_mask(args.mask, k, seed=args.seed)
    rows = [impute(model, x, mask, method=m, seed=args.seed) for m in methods]
    figure = imputation_figure(x, mask, rows)
    written.append(render_labelled_image(
        figure, out / f"{prefix}-imputation.png", row_labels=["original", "masked", *methods],
        title=f"Imputation, {args.mask.replace('_', ' ')} missing ({desc})", scale=2,
    ))  # fmt: skip
    for path in written:
        print(path)
    sys.stdout.flush()
    return 0


def _one_of_each_class(labels: Any, k: int) -> list[int]:
    """Indices of the first test image of each class in turn (0, 1, 2, ...), k in all."""
    import numpy as np

    labels = np.asarray(labels)
    classes = np.unique(labels)
    firsts = {c: list(np.flatnonzero(labels == c)) for c in classes}
    picks: list[int] = []
    rank = 0
    while len(picks) < k:
        for c in classes:
            if rank < len(firsts[c]) and len(picks) < k:
                picks.append(int(firsts[c][rank]))
        rank += 1
    return picks

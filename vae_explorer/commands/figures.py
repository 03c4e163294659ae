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

from ._common import add_command, add_dataset_arguments, add_seed_argument, bounded_int, die, positive_int

# A grid of n x n decoded 28-pixel tiles is a picture 28 n pixels wide: 200 gives 5,600 px
# (40,000 decodes, ~125 MB); a 3,000 grid would need 28 GB and an 84,000 px image.
MAX_GRID = 200
# The imputation figure has one row of 28 x 2 px per digit.
MAX_DIGITS = 200


def add_parser(sub: Any) -> None:
    from ..core.imputation import METHODS
    from ..core.masks import DEFAULT_MASK, MASK_NAMES

    p = add_command(sub, "figures", help="write PNG figures for a checkpoint", description=__doc__)
    p.add_argument("checkpoint", help="a .safetensors model")
    p.add_argument("--out", required=True, help="folder for the PNGs (created if needed)")
    p.add_argument("--grid", type=bounded_int(1, MAX_GRID, f"a {MAX_GRID * 28:,}-pixel-wide picture"),
                   default=20, help="latent grid size (tiles per side)")  # fmt: skip
    p.add_argument("--scatter", type=positive_int, default=10_000,
                   help="test images in the latent scatter (at most the whole split)")  # fmt: skip
    p.add_argument("--digits", type=bounded_int(1, MAX_DIGITS, "one figure row each"), default=10,
                   help="test digits in the imputation figure")  # fmt: skip
    p.add_argument("--mask", default=DEFAULT_MASK, choices=MASK_NAMES, help="which pixels are missing")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="imputation rows to show, comma-separated (default all)")  # fmt: skip
    add_seed_argument(p)
    p.add_argument("--prefix", default=None, help="file name prefix (default: checkpoint name)")
    add_dataset_arguments(p, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.checkpoints import CheckpointError, load_checkpoint
    from ..core.figures import imputation_figure, latent_grid_figure
    from ..core.files import show_path
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
    except FileExistsError:
        return die(f"--out {show_path(out)} is a file; give a folder for the PNGs")
    except OSError as exc:
        return die(f"cannot create {show_path(out)}: {exc.strerror or exc}")
    if args.dataset is None:
        args.dataset = str(ckpt.metadata.get("dataset", "mnist"))
    test = load_split(args, "test")
    prefix = args.prefix or Path(args.checkpoint).name.removesuffix(".safetensors")
    if "/" in prefix or prefix in ("", ".", ".."):
        return die(f"--prefix must be a plain file name, got {prefix!r}")
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
        print(show_path(path))
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

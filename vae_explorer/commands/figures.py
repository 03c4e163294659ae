"""`vae-explorer figures CKPT --out DIR`: the seed article's pictures for a checkpoint.

Writes three PNGs named after the checkpoint: the decoded latent grid (the manifold),
the test latents coloured by label with a legend, and imputation rows (original, masked,
then each method's imputation) for the middle-rows mask. On request also a walk between
two test images' codes (--interpolate I,J: straight line and great circle) and a traversal
grid (--traversal: one row per latent dimension, -3 to +3 standard deviations of the test
codes). Text is drawn with Qt, offscreen.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ._common import (
    add_command,
    add_dataset_arguments,
    add_seed_argument,
    bounded_int,
    check_model_or_exit,
    die,
    exit_if_nonfinite,
    positive_int,
)

# A grid of n x n decoded 28-pixel tiles is a picture 28 n pixels wide: 200 gives 5,600 px
# (40,000 decodes, ~125 MB); a 3,000 grid would need 28 GB and an 84,000 px image.
MAX_GRID = 200
# The imputation figure has one row of 28 x 2 px per digit.
MAX_DIGITS = 200
MAX_STEPS = 60  # images along an interpolation
MAX_TRAVERSAL_DIMS = 32  # rows of a traversal grid
# core.files.atomic_path writes NAME.png as .NAME.XXXXXXXX.tmp.png first: 14 more bytes.
TEMPORARY_EXTRA = 14


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
    p.add_argument("--interpolate", metavar="I,J", default=None,
                   help="also walk between the codes of test images I and J (indices)")  # fmt: skip
    p.add_argument("--steps", type=bounded_int(2, MAX_STEPS, "images in a row"), default=10,
                   help="images along the walk, ends included")  # fmt: skip
    p.add_argument("--traversal", action="store_true",
                   help=f"also a traversal grid (up to {MAX_TRAVERSAL_DIMS} latent dimensions)")  # fmt: skip
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
    from ..core.model import VAE
    from ._common import load_split, recorded_dataset

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if any(m not in METHODS for m in methods):
        return die(f"--methods must be taken from {', '.join(METHODS)}")
    try:
        pair = _pair(args.interpolate) if args.interpolate else None
    except ValueError:
        return die(f"--interpolate needs two test image indices like 3,17, got {args.interpolate!r}")
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        return die(str(exc))
    if not isinstance(ckpt.model, VAE):
        kind = getattr(ckpt.model.config, "kind", type(ckpt.model).__name__)
        return die(f"{show_path(args.checkpoint)}: figures are drawn for VAE checkpoints, not {kind!r}")
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
        args.dataset = recorded_dataset(ckpt.metadata)
    test = load_split(args, "test")
    if pair is not None and max(pair) >= len(test):
        return die(f"--interpolate: the test split has {len(test):,} images (0 to {len(test) - 1:,})")
    prefix = args.prefix or Path(args.checkpoint).name.removesuffix(".safetensors")
    if "/" in prefix or prefix in ("", ".", ".."):
        return die(f"--prefix must be a plain file name, got {prefix!r}")
    names = ["latent-grid", "latents", "imputation"]
    names += ["interpolation"] * (pair is not None) + ["traversal"] * args.traversal
    problem = _unwritable([out / f"{prefix}-{name}.png" for name in names], prefix, bool(args.prefix))
    if problem:
        return die(problem)
    check_model_or_exit(model, test.images, args.checkpoint)
    desc = f"{model.config.likelihood}, z={model.latent_dim}"
    note = {1: " (one latent dimension)", 2: ""}.get(model.latent_dim, " (first two latent dimensions)")
    written = []

    grid = latent_grid_figure(model, n=args.grid)
    exit_if_nonfinite(args.checkpoint, {"decoded latent grid": grid})
    written.append(render_labelled_image(
        grid, out / f"{prefix}-latent-grid.png", title=f"Decoded latent grid ({desc}){note}",
        scale=1 if args.grid >= 16 and model.latent_dim > 1 else 2,  # a 1-d "grid" is one row
    ))  # fmt: skip

    n = min(args.scatter, len(test))
    mu, _ = encode_images(model, test.images[:n])
    exit_if_nonfinite(args.checkpoint, {"test latents": mu})
    written.append(render_latent_scatter(
        mu, test.labels[:n], list(test.classes), out / f"{prefix}-latents.png",
        title=f"Test latents by label ({desc}){note}",
    ))  # fmt: skip

    k = min(args.digits, len(test))
    pick = _one_of_each_class(test.labels, k)
    x = test.images[pick].reshape(k, -1)
    mask = make_mask(args.mask, k, seed=args.seed)
    rows = [impute(model, x, mask, method=m, seed=args.seed) for m in methods]
    exit_if_nonfinite(args.checkpoint, {f"{m} imputation": row for m, row in zip(methods, rows, strict=True)})
    figure = imputation_figure(x, mask, rows)
    written.append(render_labelled_image(
        figure, out / f"{prefix}-imputation.png", row_labels=["original", "masked", *methods],
        title=f"Imputation, {args.mask.replace('_', ' ')} missing ({desc})", scale=2,
    ))  # fmt: skip
    if pair is not None:
        walk = out / f"{prefix}-interpolation.png"
        written.append(_interpolation(model, test, pair, args.steps, walk, desc))
    if args.traversal:
        written.append(_traversal(model, mu, out / f"{prefix}-traversal.png", desc))
    for path in written:
        print(show_path(path))
    sys.stdout.flush()
    return 0


def _unwritable(paths: list[Path], prefix: str, given: bool) -> str:
    """Why one of ``paths`` cannot be written, before any work ("" if all can): each is
    tried as it will be written (a temporary file beside it, which is removed), so a name
    too long for the folder's file system is caught, its temporary twin's included."""
    import errno

    from ..core.files import atomic_path, show_path

    class _DryRun(Exception):
        pass

    for path in paths:
        try:
            with atomic_path(path):
                raise _DryRun
        except _DryRun:
            continue
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                reason = str(exc.strerror or exc)
                return f"cannot write {show_path(path)}: {reason[:1].lower()}{reason[1:]}"
            folder = path.parent
            try:
                name_max = os.pathconf(folder, "PC_NAME_MAX")
            except (OSError, ValueError):
                name_max = 255
            longest = max(len(os.fsencode(p.name)) - len(os.fsencode(prefix)) for p in paths)
            room = max(name_max - longest - TEMPORARY_EXTRA, 0)
            what = "--prefix" if given else "the checkpoint's name (the default --prefix)"
            return (
                f"{what} is too long for the figures' file names in {show_path(folder)}: "
                f"{len(os.fsencode(prefix))} bytes, at most {room} fit; give a shorter --prefix"
            )
    return ""


def _pair(text: str) -> tuple[int, int]:
    first, second = (int(part) for part in text.split(","))
    if first < 0 or second < 0:
        raise ValueError(text)
    return first, second


def _interpolation(model: Any, test: Any, pair: tuple[int, int], steps: int, path: Path, desc: str) -> Path:
    """Rows: the straight line and (latent_dim > 2) the great circle between two test codes."""
    from ..core.interpolation import interpolation_picture
    from ..core.latent import encode_images
    from ..gui.figure_render import render_labelled_image

    mu, _ = encode_images(model, test.images[list(pair)])
    kinds = ("linear", "spherical") if model.latent_dim > 2 else ("linear",)
    picture = interpolation_picture(model, mu[0], mu[1], steps, kinds)
    names = [str(test.classes[int(test.labels[i])]) for i in pair]
    title = f"From test image {pair[0]} ({names[0]}) to {pair[1]} ({names[1]}), {desc}"
    labels = [kind.replace("spherical", "great circle") for kind in kinds]
    return render_labelled_image(picture, path, title=title, row_labels=labels)


def _traversal(model: Any, test_mu: Any, path: Path, desc: str) -> Path:
    """Rows: latent dimensions; columns: -3 to +3 standard deviations of the test codes,
    from the test codes' mean."""
    import numpy as np

    from ..core.traversal import traversal_grid, traversal_picture, traversal_values
    from ..gui.figure_render import render_labelled_image

    dims = list(range(min(model.latent_dim, MAX_TRAVERSAL_DIMS)))
    centre = np.asarray(test_mu, np.float64).mean(axis=0)
    grid = traversal_grid(model, centre, dims, traversal_values(9), latent_means=test_mu, centred=False)
    return render_labelled_image(
        traversal_picture(grid), path, title=f"Traversals, -3 to +3 sd per dimension ({desc})",
        row_labels=[f"z{d + 1}" for d in dims],
    )  # fmt: skip


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

"""Per-image inference quantities over a data set: the gap split (2-d latents) and the cheap
ELBO / reconstruction / KL (any model), for colouring the scatter and the `gaps` command."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import numpy as np
import torch

from ..model import VAE, kl_divergence
from .checks import PosteriorError, check_model, many_images
from .solve import solve_batch
from .threads import one_thread

GAP_KEYS = ("log_px", "elbo", "total_gap", "approximation_gap", "amortisation_gap")
GAPS_GRID = 64  # uniform quadrature grid per image (log p(x) agrees with 201 x 201 to ~1e-5 nats)
GAPS_NODES = 17  # Chebyshev points per axis decoded per image (nested 33, 65 where not resolved)
IMAGES_PER_BATCH = 128
MIN_IMAGES_PER_WORKER = 8  # fewer images per batch: a worker's start-up is not worth it

Progress = Callable[[int, int], Any]


def image_gaps(
    model: VAE,
    images: Any,
    progress: Progress | None = None,
    grid: int = GAPS_GRID,
    nodes: int = GAPS_NODES,
) -> dict[str, np.ndarray]:
    """Per-image log p(x), ELBO and gaps in nats: float64 arrays [N] keyed by GAP_KEYS.

    ``images``: [N, 784] or [N, 28, 28], uint8 or float in [0, 1]. ``progress(done, total)``
    is called after each batch of up to 128 images (and once with 0 at the start); batches
    run side by side, one per CPU thread (see _worker_count). Faster than
    exact_posterior per image: fewer Chebyshev points to start with (refined where needed)
    and the ELBOs' quadrature points inside the box read off the interpolant, not decoded.
    """
    check_model(model)
    if not isinstance(grid, (int, np.integer)) or isinstance(grid, bool) or not 16 <= grid <= 2001:
        raise PosteriorError(f"grid must be a whole number from 16 to 2001, got {grid!r}")
    if not isinstance(nodes, (int, np.integer)) or isinstance(nodes, bool) or not 5 <= nodes <= 96:
        raise PosteriorError(f"nodes must be a whole number from 5 to 96, got {nodes!r}")
    x_all = many_images(images)
    n = x_all.shape[0]
    out = {key: np.empty(n) for key in GAP_KEYS}
    if progress is not None:
        progress(0, n)
    workers = _worker_count(model, n)
    size = min(IMAGES_PER_BATCH, -(-n // workers))  # every worker gets a batch
    parts = [slice(start, min(start + size, n)) for start in range(0, n, size)]
    was_training, saved = model.training, torch.get_num_threads()
    model.eval()  # here, not per batch: workers must not race on the model's mode
    try:
        if workers == 1:
            with one_thread():
                for part in parts:
                    _solve_part(model, x_all, part, grid, nodes, out)
                    if progress is not None:
                        progress(part.stop, n)
        else:
            _in_parallel(model, x_all, parts, grid, nodes, out, workers, progress)
    finally:
        model.train(was_training)
        torch.set_num_threads(saved)  # the workers' one-thread settings leave no trace
    return out


def _worker_count(model: VAE, n: int) -> int:
    """One worker per intra-op thread on the CPU (torch.get_num_threads), each with one thread.

    Most of a batch's time goes to many small arrays (numpy's are single-threaded; the
    decodes are only ~60% of it): two batches side by side, one thread each, use two cores
    far better than one batch whose products are split in two (and a busy CPU costs them
    little: no thread waits for another at each parallel region). torch and numpy release
    the GIL in their array work."""
    if model.device.type != "cpu" or n < 2 * MIN_IMAGES_PER_WORKER:
        return 1
    return max(1, min(torch.get_num_threads(), n // MIN_IMAGES_PER_WORKER))


def _in_parallel(
    model: VAE,
    x_all: torch.Tensor,
    parts: list[slice],
    grid: int,
    nodes: int,
    out: dict[str, np.ndarray],
    workers: int,
    progress: Progress | None,
) -> None:
    """Solve the parts in a pool of worker threads; progress is reported from the calling
    thread as parts finish. An error in a part (or in progress, e.g. a cancel) stops the
    parts not yet started and is raised once the running ones end."""

    def work(part: slice) -> int:
        with one_thread():
            _solve_part(model, x_all, part, grid, nodes, out)
        return part.stop - part.start

    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-gaps") as pool:
        futures = [pool.submit(work, part) for part in parts]
        try:
            for future in as_completed(futures):
                done += future.result()
                if progress is not None:
                    progress(done, x_all.shape[0])
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _solve_part(
    model: VAE, x_all: torch.Tensor, part: slice, grid: int, nodes: int, out: dict[str, np.ndarray]
) -> None:
    s = solve_batch(model, x_all[part], int(grid), int(nodes), decode_elbo=False)
    out["log_px"][part] = s.log_px
    out["elbo"][part] = s.elbo
    out["total_gap"][part] = s.log_px - s.elbo
    out["approximation_gap"][part] = s.log_px - s.elbo_qstar
    out["amortisation_gap"][part] = s.elbo_qstar - s.elbo


def dataset_gaps(model: VAE, images: Any, progress: Progress | None = None) -> dict[str, float]:
    """Means over the images of log p(x), ELBO, total, approximation and amortisation gaps (nats)."""
    per_image = image_gaps(model, images, progress)
    return {key: float(values.mean()) for key, values in per_image.items()}


@torch.inference_mode()
def image_metrics(model: VAE, images: Any, seed: int = 0, batch_size: int = 10_000) -> dict[str, np.ndarray]:
    """Per-image "elbo", "recon" (negative log-likelihood of one reparameterised sample) and
    "kl" in nats, float64 arrays [N], for any latent size. With the same seed and batch size
    their means are core.evaluation.evaluate's numbers."""
    x_all = many_images(images)
    was_training = model.training
    model.eval()
    try:
        device = model.device
        generator = torch.Generator(device=device).manual_seed(seed)
        recon, kl = [], []
        for start in range(0, x_all.shape[0], batch_size):
            x = x_all[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)
            z = model.reparameterize(mu, logvar, generator)
            recon.append(-model.log_likelihood(x, model.decode_logits(z)).cpu().double())
            kl.append(kl_divergence(mu, logvar).cpu().double())
    finally:
        model.train(was_training)
    r, k = torch.cat(recon).numpy(), torch.cat(kl).numpy()
    return {"elbo": -(r + k), "recon": r, "kl": k}

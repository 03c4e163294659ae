"""Canvas imputation jobs: what goes to the worker thread, what comes back, and the job.

The panel runs ``run_request`` through :class:`~vae_explorer.gui.workers.LatestOnlyRunner`
(``make_runner``): one job at a time, a request made while it is busy waits in one slot
that newer requests overwrite, so however fast the user paints the worker only computes
the newest canvas after the current job and never builds a backlog.

Each job asks core's ``impute_multiple`` for the point estimate AND ``DRAWS`` draws with
their per-pixel spread, so the canvas can show how sure the model is. The request's seed
decides the draws: the panel keeps it while the user paints (live re-imputation stays
steady) and takes a new one at each press of Impute (new draws).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import QObject

from ...core.image import IMAGE_SIDE
from ...core.imputation import impute_multiple
from ...core.model import VAE
from ..workers import LatestOnlyRunner

DRAWS = 6  # imputations drawn per request: the canvas' strip


@dataclass(frozen=True)
class ImputeRequest:
    """One image to impute. ``model`` is a copy only the worker thread uses."""

    token: int
    model: VAE
    image: np.ndarray  # float32 [784] in [0, 1]
    mask: np.ndarray  # bool [784], True = missing
    method: str
    steps: int
    seed: int = 0


@dataclass(frozen=True)
class ImputeResult:
    """The imputed image of request ``token`` (or the error that stopped it)."""

    token: int
    method: str
    steps: int
    image: np.ndarray | None  # float32 [28, 28], None on error
    seconds: float
    error: str | None = None
    draws: np.ndarray | None = None  # float32 [DRAWS, 28, 28]: possible fill-ins
    spread: np.ndarray | None = None  # float32 [28, 28]: per-pixel std of the draws (0 observed)
    seed: int = 0


def run_request(request: ImputeRequest) -> ImputeResult:
    """Impute one request with core (on any thread); an error becomes the result's message,
    so the panel can show it next to the drawing and keep the last good image."""
    start = time.perf_counter()
    image = draws = spread = None
    error: str | None = None
    try:
        out = impute_multiple(
            request.model,
            request.image[None, :],
            request.mask[None, :],
            method=request.method,
            steps=request.steps,
            seed=request.seed,
            num_imputations=DRAWS,
        )
        image = _pictures(out.images, (IMAGE_SIDE, IMAGE_SIDE))
        draws = _pictures(out.draws, (-1, IMAGE_SIDE, IMAGE_SIDE))
        spread = _pictures(out.std, (IMAGE_SIDE, IMAGE_SIDE))
    except Exception as exc:  # noqa: BLE001 - reported to the user, not swallowed
        image, error = None, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    seconds = time.perf_counter() - start
    return ImputeResult(
        request.token, request.method, request.steps, image, seconds, error, draws, spread, request.seed
    )


def _pictures(t: torch.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 numpy copy of ``t`` in ``shape`` (it crosses to the GUI thread)."""
    return t.detach().cpu().numpy().reshape(shape).astype(np.float32, copy=True)


def make_runner(parent: QObject | None = None) -> LatestOnlyRunner:
    """The canvas' worker: ``returned(ImputeResult)`` comes back on the GUI thread."""
    return LatestOnlyRunner(run_request, name="canvas-imputation", parent=parent)

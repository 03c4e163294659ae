"""Canvas imputation jobs: what goes to the worker thread, what comes back, and the job.

The panel runs ``run_request`` through :class:`~vae_explorer.gui.workers.LatestOnlyRunner`
(``make_runner``): one job at a time, a request made while it is busy waits in one slot
that newer requests overwrite, so however fast the user paints the worker only computes
the newest canvas after the current job and never builds a backlog.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject

from ...core.image import IMAGE_SIDE
from ...core.imputation import impute
from ...core.model import VAE
from ..workers import LatestOnlyRunner


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


def run_request(request: ImputeRequest) -> ImputeResult:
    """Impute one request with core (on any thread); an error becomes the result's message,
    so the panel can show it next to the drawing and keep the last good image."""
    start = time.perf_counter()
    image: np.ndarray | None
    try:
        out = impute(
            request.model,
            request.image[None, :],
            request.mask[None, :],
            method=request.method,
            steps=request.steps,
            seed=request.seed,
        )
        image = out.detach().cpu().numpy().reshape(IMAGE_SIDE, IMAGE_SIDE).astype(np.float32, copy=True)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported to the user, not swallowed
        image, error = None, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return ImputeResult(
        request.token, request.method, request.steps, image, time.perf_counter() - start, error
    )


def make_runner(parent: QObject | None = None) -> LatestOnlyRunner:
    """The canvas' worker: ``returned(ImputeResult)`` comes back on the GUI thread."""
    return LatestOnlyRunner(run_request, name="canvas-imputation", parent=parent)

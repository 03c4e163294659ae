"""The q* fit's cheap surface (lattice.py) and the gap split's worker threads: local cubics
on the uniform grid are exact for cubics, the fit on them (polished on the interpolant) gives
q*'s ELBO of the fit on the interpolant alone, and batches run side by side give the
sequential results, restore the thread count and stop on an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoints import load_checkpoint
from vae_explorer.core.posterior import dataset, image_gaps, solve
from vae_explorer.core.posterior.lattice import Lattice

TRAINED = Path(__file__).resolve().parents[2] / "trained"


@pytest.fixture(scope="module")
def gaussian_model():
    return load_checkpoint(TRAINED / "mnist-gaussian-z2.safetensors").model.eval()


def test_lattice_cubics_are_exact_for_cubics_and_leave_the_box_alone():
    box = np.array([[[-1.0, 2.0], [0.5, 1.5]], [[-3.0, 3.0], [-2.0, 4.0]]])

    def f(z0, z1, k):  # a different full cubic per image
        return (k + 1) * z0**3 - 2 * z0 * z0 * z1 + 0.5 * z1**3 - z0 * z1 + 3 * z1 - k

    g = 23
    values = np.empty((2, g, g))
    for k in range(2):
        a0, a1 = np.linspace(*box[k, 0], g), np.linspace(*box[k, 1], g)
        z0, z1 = np.meshgrid(a0, a1, indexing="xy")
        values[k] = f(z0, z1, k)
    lattice = Lattice(box, values)
    rng = np.random.default_rng(0)
    lo, hi = box[:, None, :, 0], box[:, None, :, 1]
    z = lo + (hi - lo) * rng.uniform(-0.1, 1.1, (2, 400, 2))  # some just outside the box
    inside = ((z >= lo) & (z <= hi)).all(-1)
    got = lattice.at(z, np.array([-7.0, -9.0]))
    want = np.stack([f(z[k, :, 0], z[k, :, 1], k) for k in range(2)])
    np.testing.assert_allclose(got[inside], want[inside], rtol=1e-10, atol=1e-9)
    np.testing.assert_array_equal(got[~inside], np.where(np.arange(2)[:, None] == 0, -7.0, -9.0)[
        np.nonzero(~inside)[0], 0])  # fmt: skip
    np.testing.assert_array_equal(lattice.top(), values.max(axis=(1, 2)))
    both = lattice.twice()  # image i + 2 is image i again
    np.testing.assert_array_equal(
        both.at(z[[1]], np.zeros(1), np.array([3])), lattice.at(z[[1]], np.zeros(1), np.array([1]))
    )
    np.testing.assert_array_equal(both.top(), np.tile(lattice.top(), 2))


def test_fit_on_the_grid_matches_the_fit_on_the_interpolant(gaussian_model, mnist_test, monkeypatch):
    # Test image 387's q* is ~1 grid spacing wide on the 64 x 64 grid (a wide, two-lobed
    # posterior): the cubics alone miss its ELBO by ~7e-3 nats; the polish recovers it.
    picked = [387, 0, 1, 2, 3, 4, 5, 6]
    x = torch.as_tensor(mnist_test.images[picked], dtype=torch.float32).reshape(len(picked), -1) / 255
    fast = solve.solve_batch(gaussian_model, x, 64, 17, decode_elbo=False)
    monkeypatch.setattr(solve, "FIT_ON_GRID_FROM", 10**9)  # the fit on the interpolant only
    slow = solve.solve_batch(gaussian_model, x, 64, 17, decode_elbo=False)
    np.testing.assert_allclose(fast.elbo_qstar, slow.elbo_qstar, atol=2e-3)
    np.testing.assert_array_equal(fast.log_px, slow.log_px)


def test_worker_threads_give_the_sequential_results(gaussian_model, mnist_test, monkeypatch):
    images = mnist_test.images[:40]
    monkeypatch.setattr(dataset, "IMAGES_PER_BATCH", 8)  # 5 batches over 2 workers
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = image_gaps(gaussian_model, images)
        torch.set_num_threads(2)
        calls: list[tuple[int, int]] = []
        two = image_gaps(gaussian_model, images, progress=lambda d, t: calls.append((d, t)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)
    assert calls[0] == (0, 40) and calls[-1] == (40, 40) and len(calls) == 6
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:], strict=False))
    for key in one:
        np.testing.assert_allclose(two[key], one[key], atol=1e-6)


def test_an_error_in_progress_stops_the_workers(gaussian_model, mnist_test, monkeypatch):
    monkeypatch.setattr(dataset, "IMAGES_PER_BATCH", 8)
    started: list[int] = []
    original = dataset._solve_part

    def counting(model, x_all, part, grid, nodes, out):  # type: ignore[no-untyped-def]
        started.append(part.start)
        original(model, x_all, part, grid, nodes, out)

    monkeypatch.setattr(dataset, "_solve_part", counting)

    def cancel(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            image_gaps(gaussian_model, mnist_test.images[:160], progress=cancel)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)
    assert len(started) < 20  # the batches not yet started were dropped

"""A model of another latent size opened while the timeline is scrubbed back: the views
heard of the new size while the scrub still served the old run's latents and weights
("IndexError: index 8 is out of bounds for axis 1 with size 2", an error dialog)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication
from window_helpers import recorded_run

from vae_explorer.core.checkpoints import save_checkpoint


def _last_units_informative(model) -> None:
    with torch.no_grad():  # its most informative units last: the axes show z[d-1], z[d-2]
        model.enc_mu.weight[-2:] *= 30.0


def _with_history(folder, test_set, latent_dim: int):
    """Two recorded 'epochs' of a small model of ``latent_dim``, saved with its timeline."""
    models, arrays = recorded_run(test_set, 2, latent_dim, 16, _last_units_informative)
    path = folder / f"z{latent_dim}.safetensors"
    meta = {"dataset": "mnist", "history": [{"epoch": e, "train_loss": 1.0} for e in (1, 2)]}
    save_checkpoint(models[2], path, {**meta, "epochs_completed": 2}, arrays=arrays)
    return path


@pytest.mark.parametrize(("first", "then"), [(2, 10), (10, 2)])
def test_opening_another_latent_size_while_scrubbed_back(make_window, mnist_test, tmp_path, first, then):
    errors: list[str] = []
    w = make_window(_with_history(tmp_path, mnist_test, first))
    w.show_error = lambda title, message, *a, **k: errors.append(f"{title}: {message}")
    w.timeline.set_epoch(1.0)
    QApplication.processEvents()
    assert w.state.scrub.scrubbing
    assert w.files.open_model(_with_history(tmp_path, mnist_test, then))
    QApplication.processEvents()
    assert not errors, errors
    state = w.state
    assert state.latent_dim == then and not state.scrub.scrubbing
    assert max(state.dims) < then and set(state.dims) == {then - 1, then - 2}
    x, y = w.scatter.cloud.points()
    np.testing.assert_allclose(x, state.latents[0][:, state.dims[0]], atol=1e-5)
    assert w.grid.mosaic is not None and state.decoder_model is state.model

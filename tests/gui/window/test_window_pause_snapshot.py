"""Pausing a run shows the paused model: the scatter, previews and the state's model
follow the weights the run stopped at, not the last (epoch's) snapshot."""

from __future__ import annotations

import numpy as np
from window_helpers import LEFT, same_weights, small_run, weights


def test_a_pause_mid_epoch_shows_the_paused_weights(window, qtbot, monkeypatch):
    import vae_explorer.core.training.job as job_module

    made = []
    real_vae = job_module.VAE

    def kept(config):  # the run's own model: the trainer's weights as they are
        model = real_vae(config)
        made.append(model)
        return model

    monkeypatch.setattr(job_module, "VAE", kept)
    small_run(window, epochs=500)
    applied = []
    window.trainer.snapshotApplied.connect(applied.append)
    qtbot.mouseClick(window.training.start_button, LEFT)
    qtbot.waitUntil(
        lambda: len(applied) >= 1 and window.training.curves.series("loss")[0].size > 0, timeout=30_000
    )
    untrained = applied[0]
    assert (untrained.epoch, untrained.batch) == (0, 0)
    qtbot.mouseClick(window.training.pause_button, LEFT)
    assert window.trainer.paused
    trainer_model = made[0]
    # The paused loop's weights become the state's model (within the snapshot throttle).
    qtbot.waitUntil(lambda: same_weights(weights(window.state.model), weights(trainer_model)), timeout=10_000)
    assert window.trainer.paused and window.trainer.is_running()
    paused = weights(trainer_model)
    assert not same_weights(paused, {k: v.numpy() for k, v in untrained.state_dict.items()})
    shown = applied[-1]
    assert same_weights({k: v.numpy() for k, v in shown.state_dict.items()}, paused)
    # The views: the state's latents are the paused model's, and the scatter draws them.
    np.testing.assert_array_equal(window.state.latents[0], shown.test_mu)
    assert not np.allclose(window.state.latents[0], untrained.test_mu)
    qtbot.waitUntil(
        lambda: np.array_equal(window.scatter.cloud.points()[0], window.state.latents[0][:, 0]), timeout=5_000
    )
    assert window.state.modified  # a trained model: something to save
    # Resuming carries on training.
    qtbot.mouseClick(window.training.pause_button, LEFT)
    assert not window.trainer.paused
    qtbot.waitUntil(lambda: not same_weights(weights(window.state.model), paused), timeout=30_000)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=10_000)

"""A history is replayed only over the test images it was recorded on: scrubbed back, a
dataset of the same size chosen since (or the model's own data not on this computer) had
the scatter draw the old images' latents coloured by the new images' labels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from window_helpers import recorded_run

from vae_explorer.core.checkpoints import save_checkpoint
from vae_explorer.core.data import write_idx


@pytest.fixture(scope="module")
def history_run(tmp_path_factory, mnist_test):
    """Three 'epochs' of a small model with the full test set's latents, saved as trained on
    ``dataset``: save(dataset) -> path."""
    models, arrays = recorded_run(mnist_test)
    folder = tmp_path_factory.mktemp("history")

    def save(dataset: str):
        meta = {"dataset": dataset, "history": [{"epoch": e} for e in (1, 2, 3)], "epochs_completed": 3}
        return save_checkpoint(models[3], folder / f"{dataset}.safetensors", meta, arrays=arrays)

    return save, models


@pytest.fixture
def shuffled_mnist(tmp_path, mnist_test):
    """The same 10,000 test digits in another order, as a folder of IDX files."""
    order = np.random.default_rng(0).permutation(len(mnist_test))
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", mnist_test.images[order])
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", mnist_test.labels[order])
    return tmp_path


def test_another_dataset_of_the_same_size_ends_the_replay(make_window, history_run, shuffled_mnist):
    save, _ = history_run
    w = make_window(save("mnist"))
    state, timeline = w.state, w.timeline
    timeline.set_epoch(1.0)
    QApplication.processEvents()
    assert state.scrub.epoch == 1.0 and state.scrub.latents() is not None
    assert w.set_dataset(str(shuffled_mnist))
    QApplication.processEvents()
    assert state.scrub.epoch is None and state.scrub.history is None and state.scrub.latents() is None
    assert state.scrub.other_data == "MNIST digits"
    assert timeline.epoch_label.text() == "A run on MNIST digits"
    assert timeline.weights_label.text() == "not the data on show"
    assert "holds the latents of the test images of MNIST digits:" in timeline.weights_label.toolTip()
    assert not timeline.slider.isEnabled() and not timeline.play_button.isEnabled()
    assert state.decoder_model is state.model  # (not the scrubbed epoch's weights)
    x, y = w.scatter.cloud.points()
    np.testing.assert_allclose(x, state.latents[0][:, 0])  # the images on show, where they are
    w.menus.datasets["mnist"].trigger()  # its own data again: the replay is back
    QApplication.processEvents()
    assert state.scrub.history is not None and state.scrub.other_data is None
    assert timeline.slider.isEnabled()


def test_a_history_of_data_not_on_show_is_not_replayed_nor_exported(make_window, history_run, monkeypatch):
    save, _ = history_run
    w = make_window(save("fashion-mnist"))  # (its data is not here: MNIST is shown)
    state = w.state
    if state.dataset_key != "mnist":
        pytest.skip("Fashion-MNIST is on this computer: the model opens on it")
    assert state.scrub.history is None and state.scrub.other_data == "Fashion-MNIST"
    state.scrub.set_epoch(2.0)
    assert state.scrub.epoch is None and state.scrub.latents() is None
    told = []
    monkeypatch.setattr(w, "show_error", lambda title, text: told.append(text))
    w.timeline.exportRequested.emit()
    assert told and "recorded on the test images of Fashion-MNIST" in told[0], told

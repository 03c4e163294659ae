"""ExplorerState alone: its parts stay consistent with each other, and it says what changed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core import grid as grid_module
from vae_explorer.core.data import Dataset
from vae_explorer.core.latent import decode_latents, encode_images
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.gui.state import ExplorerState


def _model(latent_dim: int = 2, seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden_dim=16))


def _dataset(mnist_test, n: int = 300) -> Dataset:
    return Dataset("mnist", "test", mnist_test.images[:n], mnist_test.labels[:n], mnist_test.classes)


class Recorder:
    """Counts every signal of a state."""

    NAMES = (
        "modelChanged",
        "datasetChanged",
        "latentsChanged",
        "dimsChanged",
        "currentZChanged",
        "pickedIndexChanged",
        "canvasPosteriorChanged",
        "gridChanged",
        "visibleRangeChanged",
        "overlayChanged",
        "historyChanged",
        "trainingChanged",
        "modifiedChanged",
    )

    def __init__(self, state: ExplorerState) -> None:
        self.counts = dict.fromkeys(self.NAMES, 0)
        for name in self.NAMES:
            getattr(state, name).connect(lambda *_, n=name: self._hit(n))

    def _hit(self, name: str) -> None:
        self.counts[name] += 1

    def fired(self) -> set[str]:
        return {n for n, c in self.counts.items() if c}

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.NAMES, 0)


@pytest.fixture
def state(mnist_test):
    s = ExplorerState()
    s.set_dataset("mnist", _dataset(mnist_test))
    s.set_model(_model(), {"epochs_completed": 3}, "m.safetensors", modified=False)
    return s


def test_latents_always_belong_to_the_current_model_and_test_set(state, mnist_test):
    mu, logvar = encode_images(state.model, state.test_set.images)
    np.testing.assert_allclose(state.latents[0], mu, atol=1e-6)
    np.testing.assert_allclose(state.latents[1], logvar, atol=1e-6)
    other = _model(seed=1)
    state.set_model(other)
    np.testing.assert_allclose(state.latents[0], encode_images(other, state.test_set.images)[0], atol=1e-6)
    state.set_dataset("mnist", _dataset(mnist_test, 120))
    assert state.latents[0].shape == (120, 2)


def test_handed_over_latents_are_used_only_when_they_fit(state):
    n = len(state.test_set)
    given = (np.full((n, 2), 7.0, np.float32), np.zeros((n, 2), np.float32))
    state.set_model(_model(seed=2), latents=given)
    assert state.latents[0] is given[0]
    wrong = (np.zeros((n - 1, 2), np.float32), np.zeros((n - 1, 2), np.float32))
    state.set_model(_model(seed=3), latents=wrong)
    assert state.latents[0].shape == (n, 2) and not np.all(state.latents[0] == 0)


def test_a_model_of_another_latent_size_resets_what_depends_on_it(state):
    state.set_current_z([0.5, -0.5])
    state.set_canvas_posterior([0.1, 0.2], [-1.0, -1.0])
    rec = Recorder(state)
    state.set_model(_model(latent_dim=5))
    x, y = state.dims
    assert x != y and max(x, y) < 5
    assert state.current_z.shape == (5,) and not state.current_z.any()
    assert state.canvas_posterior is None
    assert {"modelChanged", "latentsChanged", "currentZChanged", "canvasPosteriorChanged"} <= rec.fired()
    state.set_dims(4, 2)
    state.set_model(_model(latent_dim=3))
    assert max(state.dims) < 3  # dim 4 does not exist any more
    state.set_model(_model(latent_dim=1))
    assert state.dims == (0, 0)


def test_a_wider_model_opens_on_its_two_most_informative_dims(state):
    """M1+M2's 50-d latent has a few active units: the scatter shows them, not z0/z1."""
    n = len(state.test_set)
    rng = np.random.default_rng(0)
    mu = np.zeros((n, 6), np.float32)
    logvar = np.zeros((n, 6), np.float32)  # KL 0: the prior
    mu[:, 4] = rng.normal(0, 2.0, n)  # the most informative
    mu[:, 1] = rng.normal(0, 1.0, n)
    logvar[:, 1] = logvar[:, 4] = -3.0
    rec = Recorder(state)
    state.set_model(_model(latent_dim=6), latents=(mu, logvar))
    assert state.dims == (4, 1) and "dimsChanged" in rec.fired()
    state.set_dims(0, 2)
    state.set_model(_model(latent_dim=6, seed=3), latents=(mu, logvar), live=True)
    assert state.dims == (0, 2)  # the model changing under a run: the user's choice stays
    other = (mu[:, ::-1].copy(), logvar[:, ::-1].copy())  # informative in 1 and 4
    state.set_model(_model(latent_dim=6, seed=4), latents=other)
    assert state.dims == (1, 4)  # another model opened, of the same size: its own axes
    state.set_model(_model(latent_dim=2))
    assert state.dims == (0, 1)


def test_a_run_ends_on_its_models_most_informative_axes_unless_the_user_chose(state):
    """A run picked its axes off its untrained weights (a snapshot at its start) and kept
    them: the trained model showed two arbitrary units, and so did the next one opened."""
    n = len(state.test_set)
    rng = np.random.default_rng(1)
    flat = (rng.normal(0, 1, (n, 5)).astype(np.float32), np.zeros((n, 5), np.float32))
    trained = (np.zeros((n, 5), np.float32), np.zeros((n, 5), np.float32))
    trained[0][:, 3] = rng.normal(0, 3.0, n)
    trained[0][:, 0] = rng.normal(0, 2.0, n)
    for user_choice in (None, (2, 4)):
        state.set_model(_model(latent_dim=2))
        state.set_training(True)
        state.set_model(_model(latent_dim=5, seed=1), latents=flat, live=True)  # the run's start
        start = state.dims
        if user_choice:
            state.set_dims(*user_choice)
        state.set_model(_model(latent_dim=5, seed=2), latents=flat, live=True)  # mid-run
        assert state.dims == (user_choice or start)  # no jumps while it trains
        state.set_model(_model(latent_dim=5, seed=3), latents=trained)  # the model it ends with
        state.set_training(False)
        assert state.dims == (user_choice or (3, 0))


def test_same_size_models_keep_the_users_point(state):
    from vae_explorer.gui.latent_plane import most_informative_dims

    state.set_model(_model(latent_dim=4))
    state.set_dims(3, 1)
    state.set_current_z([1, 2, 3, 4])
    state.set_model(_model(latent_dim=4, seed=5))
    assert state.dims == most_informative_dims(state.latents, 4)  # its own axes (see above)
    np.testing.assert_array_equal(state.current_z, [1, 2, 3, 4])


def test_setters_refuse_values_that_do_not_fit(state):
    rec = Recorder(state)
    state.set_dims(0, 7)  # no such dim
    state.set_current_z([1.0, 2.0, 3.0])  # wrong size
    state.set_current_z([np.nan, 0.0])  # not finite
    state.set_picked_index(10**6)  # not in the test set
    state.set_canvas_posterior([0.0], [0.0])  # wrong size: taken as "nothing drawn"
    state.set_visible_range((0, np.inf), (0, 1))
    assert rec.fired() == set()
    state.set_grid(size=10**9, spacing="spiral")
    assert state.grid_size == 30 and state.grid_spacing == "gaussian"


def test_a_new_dataset_clears_the_picked_image(state, mnist_test):
    state.set_picked_index(5)
    assert state.picked_index == 5
    rec = Recorder(state)
    state.set_dataset("mnist", _dataset(mnist_test, 100))
    assert state.picked_index is None
    assert {"datasetChanged", "latentsChanged", "pickedIndexChanged"} <= rec.fired()


def test_the_plane_point_fills_the_shown_dims_only(state):
    state.set_model(_model(latent_dim=4))
    state.set_dims(2, 0)
    state.set_current_z_from_plane([1.5, -0.5])
    np.testing.assert_array_equal(state.current_z, [-0.5, 0.0, 1.5, 0.0])


def test_modified_follows_training_and_saving(state):
    assert not state.modified
    rec = Recorder(state)
    state.set_model(_model(seed=9), live=True)
    assert state.modified and state.model_path is None and state.live
    state.mark_saved("x.safetensors", {"epochs_completed": 1})
    assert not state.modified and state.model_path == "x.safetensors"
    assert state.model_meta == {"epochs_completed": 1}
    assert rec.counts["modifiedChanged"] == 2
    state.set_training(True)
    state.set_training(False)
    assert not state.live


def test_the_decoded_grid_is_computed_once_per_model_and_view(state, monkeypatch):
    calls = []
    real = grid_module.decode_latents
    monkeypatch.setattr(grid_module, "decode_latents", lambda m, z: calls.append(len(z)) or real(m, z))
    state.set_grid(size=6, spacing="visible")
    state.set_visible_range((-1, 1), (0, 2))
    a = state.decoded_grid()
    b = state.decoded_grid("visible")  # what the scatter overlay asks for
    assert a is b and calls == [36]
    np.testing.assert_allclose(a.xs, np.linspace(-1 + 1 / 6, 1 - 1 / 6, 6))
    assert a.extent == pytest.approx((-1.0, 0.0, 2.0, 2.0))
    np.testing.assert_allclose(
        a.mosaic[:28, :28], decode_latents(state.model, a.tile_latent(0, 0)[None])[0], atol=1e-6
    )
    assert a.tile_latent(0, 0)[1] == pytest.approx(a.ys[-1])  # row 0 is the top row
    state.decoded_grid("gaussian")
    state.set_visible_range((-2, 2), (0, 2))
    state.decoded_grid("gaussian")  # the Gaussian grid does not depend on the view
    assert calls == [36, 36]
    state.decoded_grid("visible")
    state.set_model(_model(seed=4))
    state.decoded_grid("visible")
    assert calls == [36, 36, 72, 72]  # (a range twice as wide as tall: 12 x 6 square tiles)


def test_no_model_no_pictures():
    s = ExplorerState()
    assert s.model is None and s.latents is None
    assert s.decoded_grid() is None and s.decode(np.zeros((1, 2))) is None


def test_the_overlay_and_the_grid_dock_always_show_the_same_grid(state):
    assert state.grid_spacing == "gaussian" and not state.overlay
    state.set_overlay(True)
    assert state.grid_spacing == "visible"  # the dock follows the overlay
    assert state.decoded_grid() is state.decoded_grid("visible")
    state.set_grid(spacing="gaussian")
    assert not state.overlay  # a Gaussian-spaced grid cannot lie over the scatter
    state.set_grid(spacing="visible")
    assert not state.overlay  # choosing visible spacing alone does not switch the overlay on


def test_the_grid_dock_gets_its_spacing_back_when_the_overlay_goes_off(state):
    """Turning the overlay on once left the dock (and the settings) on the visible range."""
    state.set_grid(spacing="gaussian")
    state.set_overlay(True)
    assert state.grid_spacing == "visible"
    state.set_overlay(False)
    assert state.grid_spacing == "gaussian"
    state.set_grid(spacing="visible")  # chosen in the dock: kept through the overlay
    state.set_overlay(True)
    state.set_overlay(False)
    assert state.grid_spacing == "visible"


def test_the_model_loading_phase_shows_cached_latents_and_keeps_the_invariants(mnist_test):
    s = ExplorerState()
    s.set_dataset("mnist", _dataset(mnist_test))
    n = len(s.test_set)
    cached = (np.full((n, 3), 0.5, np.float16), np.zeros((n, 3), np.float16))
    seen: list[bool] = []
    s.loadingChanged.connect(seen.append)
    s.begin_model_loading(3, {"dataset": "mnist"}, "m.safetensors", cached)
    assert s.loading and s.model is None and seen == [True]
    assert s.latent_dim == 3 and s.current_z.shape == (3,) and s.model_path == "m.safetensors"
    assert s.latents[0].dtype == np.float32 and np.all(s.latents[0] == 0.5)
    assert s.decoded_grid() is None and s.decode(np.zeros((1, 3))) is None  # nothing to compute with
    s.set_dataset("mnist", _dataset(mnist_test, 50))
    assert s.latents is None  # the cache was for the other test set; nothing can encode yet
    model = _model(latent_dim=3)
    s.set_model(model, {"dataset": "mnist"}, "m.safetensors", modified=False)
    assert not s.loading and seen == [True, False]
    np.testing.assert_allclose(s.latents[0], encode_images(model, s.test_set.images)[0], atol=1e-6)
    with pytest.raises(RuntimeError):
        s.begin_model_loading(3)


def test_cached_latents_that_do_not_fit_are_not_shown(mnist_test):
    s = ExplorerState()
    s.set_dataset("mnist", _dataset(mnist_test))
    n = len(s.test_set)
    s.begin_model_loading(2, {}, None, (np.zeros((n, 3), np.float32), np.zeros((n, 3), np.float32)))
    assert s.latents is None  # another latent size
    bad = np.zeros((n, 2), np.float32)
    bad[5, 1] = np.nan
    model = _model()
    s.set_model(model, latents=(bad, np.zeros((n, 2), np.float32)))
    assert np.isfinite(s.latents[0]).all()  # encoded instead of showing a NaN cache
    np.testing.assert_allclose(s.latents[0], encode_images(model, s.test_set.images)[0], atol=1e-6)


def test_while_a_wide_model_loads_the_axes_are_those_of_the_cached_grid(mnist_test):
    """The first screen's grid was decoded on z0/z1: the scatter shows those until the model
    is here, then its two most informative dims."""
    s = ExplorerState()
    s.set_dataset("mnist", _dataset(mnist_test))
    n = len(s.test_set)
    mu, logvar = np.zeros((n, 5), np.float32), np.zeros((n, 5), np.float32)
    mu[:, 3] = np.random.default_rng(0).normal(0, 2.0, n)
    mu[:, 2] = np.random.default_rng(1).normal(0, 1.0, n)
    s.begin_model_loading(5, {"dataset": "mnist"}, "m.safetensors", (mu, logvar))
    assert s.dims == (0, 1)
    s.set_model(_model(latent_dim=5), {"dataset": "mnist"}, "m.safetensors", latents=(mu, logvar))
    assert s.dims == (3, 2)

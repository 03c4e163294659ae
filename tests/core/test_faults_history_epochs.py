"""A checkpoint's training history is refused, with a message naming what is wrong, when its
epochs are not whole numbers from 1 to MAX_EPOCH in increasing order or its latents are not
finite: every consumer (the timeline, `animate`) can then trust what it gets."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.checkpoint_file import CheckpointError
from vae_explorer.core.history import EPOCHS_KEY, LOGVAR_KEY, MU_KEY, TrainingHistory

MAX_EPOCH = 10**6  # history.MAX_EPOCH


def _arrays(epochs, mu=None, logvar=None):
    e = len(epochs)
    mu = np.zeros((e, 4, 2), np.float16) if mu is None else mu
    logvar = np.zeros((e, 4, 2), np.float16) if logvar is None else logvar
    return {EPOCHS_KEY: epochs, MU_KEY: mu, LOGVAR_KEY: logvar}


def test_a_sound_history_is_read():
    history = TrainingHistory.from_arrays(_arrays(np.array([1, 2, 5], np.int32)))
    assert history is not None and history.epochs.dtype == np.int64
    assert (history.first, history.last) == (1, 5)
    big = TrainingHistory.from_arrays(_arrays(np.array([1, MAX_EPOCH], np.uint32)))
    assert big is not None and big.last == MAX_EPOCH


@pytest.mark.parametrize(
    ("epochs", "words"),
    [
        (np.arange(2**31 - 51, 2**31 - 1, dtype=np.int32), "between 1 and"),
        (np.arange(-49, 1, dtype=np.int32), "between 1 and"),
        (np.array([0, 1], np.int64), "between 1 and"),
        (np.array([1, 2**63 + 5], np.uint64), "between 1 and"),
        (np.array([5, 3, *range(6, 10)], np.uint32), "strictly increasing"),  # np.diff wraps on uint
        (np.array([1, 1], np.int16), "strictly increasing"),
    ],
)
def test_epochs_out_of_range_or_order_are_refused_by_name(epochs, words):
    with pytest.raises(CheckpointError, match=words) as caught:
        TrainingHistory.from_arrays(_arrays(epochs), source="run.safetensors")
    assert "run.safetensors" in str(caught.value) and "history/epochs" in str(caught.value)


@pytest.mark.parametrize("key", [MU_KEY, LOGVAR_KEY])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_latents_are_refused_by_name(key, value):
    arrays = _arrays(np.array([1, 2], np.int32))
    bad = np.zeros((2, 4, 2), np.float16)
    bad[1, 3, 0] = value
    arrays[key] = bad
    with pytest.raises(CheckpointError, match="NaN or infinite") as caught:
        TrainingHistory.from_arrays(arrays)
    assert key in str(caught.value)


def test_latents_that_are_not_floats_or_are_empty_are_refused():
    with pytest.raises(CheckpointError, match="floating-point"):
        TrainingHistory.from_arrays(_arrays(np.array([1], np.int32), mu=np.zeros((1, 4, 2), np.int8),
                                            logvar=np.zeros((1, 4, 2), np.int8)))  # fmt: skip
    with pytest.raises(CheckpointError, match="empty"):
        empty = np.zeros((1, 0, 2), np.float16)
        TrainingHistory.from_arrays(_arrays(np.array([1], np.int32), mu=empty, logvar=empty))

"""explore() refuses a model that fails on the real images with the reason (an
ExternalModelError from the call), not with "Unexpected error" pop-ups from each view."""

from __future__ import annotations

import pytest
from external_models import DecodeWrongLater, HugeLogvar, ProtocolModel, ScalarDecode
from PySide6.QtWidgets import QApplication

import vae_explorer
from vae_explorer.core.external import ExternalModelError
from vae_explorer.gui.window import MainWindow

Base = ProtocolModel


class NaNLater(Base):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return (mu * float("nan") if len(x) > 3 else mu), logvar


class NaNPastTheCheck(Base):
    """Fine on explore()'s first real batch, NaN for the images after it."""

    def encode(self, x):
        mu, logvar = super().encode(x)
        if len(x) > 300:
            mu = mu.clone()
            mu[300:] = float("nan")
        return mu, logvar


def _main_windows() -> list[MainWindow]:
    QApplication.processEvents()
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


@pytest.mark.parametrize(
    "module, words",
    [
        (ScalarDecode(), "decode must return 3 images"),
        (NaNLater(), "your model's encode returned NaN values in mu for 256 of 256 images"),
        (HugeLogvar(), "log-variance too large for exp"),
        (DecodeWrongLater(), "decode must return 256 images of 28 x 28 pixels"),
        (NaNPastTheCheck(), "your model's encode returned NaN values in mu for 100 of 400 images"),
    ],
)
def test_explore_refuses_a_model_that_fails_on_real_images(qapp, mnist_test, module, words):
    before = len(_main_windows())
    with pytest.raises(ExternalModelError) as info:
        vae_explorer.explore(module, mnist_test.images[:400], mnist_test.labels[:400], block=False)
    assert words in str(info.value)
    assert len(_main_windows()) == before  # no half-built window left on screen

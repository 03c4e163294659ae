"""A labelled model (Kingma et al. 2014's M2 / M1+M2) as the window's views see it.

The window's views decode with ``model.decode(z)`` (a VAE's signature). A labelled model
decodes a style z *as a digit y*: :class:`ExplorerLabelledModel` is core's LabelledModel
whose ``decode(z)`` without y draws the style as ``shown_class``, so every view that decodes
a code works unchanged; views that know about classes (latent grid, samples, analogy) pass
y themselves. The maths stays in core; this only chooses a default argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.labelled import CLASSES, LabelledModel

DEFAULT_SHOWN_CLASS = 0


class ExplorerLabelledModel(LabelledModel):
    """LabelledModel whose ``decode(z)`` (y omitted) draws the style as ``shown_class``."""

    shown_class: int = DEFAULT_SHOWN_CLASS

    def decode(self, z: Any, y: Any = None) -> Any:  # type: ignore[override]
        return super().decode(z, self.shown_class if y is None else y)

    def sample(self, y: Any = None, n: int = 1, generator: Any = None) -> Any:  # type: ignore[override]
        return super().sample(self.shown_class if y is None else y, n, generator)


def is_labelled(model: object) -> bool:
    return isinstance(model, LabelledModel)


def needs_a_vae(model: object, what: str) -> str | None:
    """Why ``what`` (imputation, the exact posterior) cannot run on ``model``: they need a
    VAE's likelihood p(x|z). None when it can (or when there is no model)."""
    if model is None or hasattr(model, "decode_logits"):
        return None
    if is_labelled(model):
        return f"{what} needs a VAE: this is a labelled model, whose decoder also needs the digit y."
    return f"{what} needs a model trained here (its likelihood): this one only encodes and decodes."


def explorer_model(model: Any) -> Any:
    """``model`` ready for the window: a labelled model becomes an ExplorerLabelledModel
    (same weights, same object when it already is one); anything else is returned as is."""
    if not isinstance(model, LabelledModel) or isinstance(model, ExplorerLabelledModel):
        return model
    out = ExplorerLabelledModel(model.config)
    out.load_state_dict(model.state_dict())
    return out.to(model.device).train(model.training)


def class_names(test_set: Any, classes: int = CLASSES) -> list[str]:
    """The test set's class names, or the digits."""
    names = list(getattr(test_set, "classes", []) or [])
    return [names[i] if i < len(names) else str(i) for i in range(classes)]


def style_rows(model: LabelledModel, z: np.ndarray) -> np.ndarray:
    """Mean images [B, classes, 28, 28]: each style z[b] drawn as every class."""
    z = np.asarray(z, np.float32).reshape(-1, model.latent_dim)
    b, k = z.shape[0], model.classes
    zs = np.repeat(z, k, axis=0)
    ys = np.tile(np.arange(k, dtype=np.int64), b)
    images = model.decode(zs, ys).float().cpu().numpy()
    return images.reshape(b, k, 28, 28)


class ClassDecoder:
    """A labelled model seen as a VAE that draws every code as class ``y`` (for core's grid
    and decode helpers, which call ``decode(z)``)."""

    def __init__(self, model: LabelledModel, y: int) -> None:
        self.model, self.y = model, int(y)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def device(self) -> Any:
        return self.model.device

    @property
    def training(self) -> bool:
        return self.model.training

    def eval(self) -> ClassDecoder:
        self.model.eval()
        return self

    def train(self, mode: bool = True) -> ClassDecoder:
        self.model.train(mode)
        return self

    def decode(self, z: Any) -> Any:
        return self.model.decode(z, self.y)

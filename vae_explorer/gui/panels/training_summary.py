"""The one-line summary of a training form's run (shown while the form is folded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .training_form import TrainingForm


def run_summary(form: TrainingForm) -> str:
    """The run these settings describe, on one line (the panel shows it while the form
    is folded away), e.g. "VAE · MNIST digits · 784-256-2 tanh · 20 epochs · ..."."""
    labelled = form.is_labelled()
    units = f"{form.hidden_dim.value()}"
    if not labelled and form.arch.currentData() == "conv":
        shape = f"convolutional, latent {form.latent_dim.value()}"
    else:
        layers = 1 if labelled else form.hidden_layers.value()
        hidden = "-".join([units] * layers)
        activation = "" if labelled else f" {form.activation.currentText()}"
        shape = f"784-{hidden}-{form.latent_dim.value()}{activation}"
    parts = [form.kind.currentText()]
    if labelled:
        parts.append(f"{form.labels.currentText()} labels")
    parts += [
        form.dataset.currentText(),
        shape,
        "cross-entropy" if form.likelihood.currentData() == "bernoulli" else "squared error",
        *([f"M1 {form.m1_epochs.value()} epochs"] if form.kind.currentData() == "m1m2" else []),
        f"{form.epochs.value()} epochs",
        f"batch {form.batch_size.value()}",
        f"lr {form.lr.value():g}",
    ]
    if not labelled:
        parts.append(f"β {form.beta.value():g}")
    parts.append(form.device.currentText())
    return " · ".join(parts)

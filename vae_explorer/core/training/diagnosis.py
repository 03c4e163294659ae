"""What to tell the user when a run's loss or weights become non-finite.

The message says what was seen (which term of the loss, or the gradients / weights, or
NaN in the data) and lists the likely causes for the run's actual settings, most likely
first, instead of always blaming the learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import TrainConfig

SEEN_TEXT = {
    "data": "the training data holds non-finite values (NaN or infinity)",
    "recon": "the reconstruction term of the loss became non-finite (inf or NaN)",
    "kl": "the KL term of the loss became non-finite (inf or NaN)",
    "both": "both terms of the loss became non-finite at once (the update before left non-finite "
    "weights: its gradients overflowed)",
    "weighted_kl": "beta x KL overflowed to infinity (the KL term itself was finite)",
    "gradients": "the gradients became non-finite (inf or NaN) while the loss was still finite",
    "weights": "the weights became non-finite (inf or NaN) after an update while the loss was finite",
}


@dataclass(frozen=True)
class NonFinite:
    """What the loop found when the run went non-finite (``seen``: a key of SEEN_TEXT)."""

    seen: str
    epoch: int
    batch: int
    bad_pixels: int = 0  # non-finite values in the training data, if any got through


def likely_causes(found: NonFinite, config: TrainConfig) -> list[str]:
    """The plausible causes for these settings, most likely first."""
    if found.bad_pixels:
        return [
            f"{found.bad_pixels:,} pixel value(s) of the training data are NaN or infinite: fix or "
            "drop those images (every pixel must be a number in [0, 1])"
        ]
    default_lr = TrainConfig.lr
    scored: list[tuple[float, str]] = []
    lr_ratio = config.lr / default_lr
    lr_score = math.log10(max(lr_ratio, 1e-3)) + (1.0 if found.seen in ("recon", "weights", "both") else 0.0)
    if lr_ratio > 1.5:
        lr_text = (
            f"the learning rate {config.lr:g} is {_times(lr_ratio)} the default {default_lr:g}: "
            f"Adam's steps overshoot; try {default_lr:g} or lower"
        )
    else:
        lr_text = (
            f"the learning rate {config.lr:g} may still be too high for this model and data; try "
            f"{config.lr / 3:.2g}"
        )
    scored.append((lr_score, lr_text))
    if config.beta > 1:
        beta_score = math.log10(config.beta) + (
            2.0 if found.seen in ("kl", "weighted_kl", "gradients", "both") else 0.0
        )
        scored.append(
            (
                beta_score,
                f"the KL weight beta = {config.beta:g} is far above 1 (1 is the true ELBO): the KL "
                "term's gradients grow with it until they overflow; try a beta between 0 and 10",
            )
        )
    elif found.seen == "kl":
        scored.append(
            (
                -1.0,
                "the encoder's log-variance grew without bound (exp overflowed): lowering the learning "
                "rate usually prevents it",
            )
        )
    if found.seen in ("gradients", "both"):
        scored.append((-2.0, "a few extreme images in a batch; a smaller learning rate tolerates them"))
    scored.sort(key=lambda item: -item[0])
    return [text for _, text in scored]


def failure_message(found: NonFinite, config: TrainConfig) -> str:
    """One message: where it happened, what was seen, the likely causes in order, the outcome."""
    causes = likely_causes(found, config)
    listed = " ".join(f"({i}) {text}." for i, text in enumerate(causes, 1))
    return (
        f"Training stopped at epoch {found.epoch}, batch {found.batch}: {SEEN_TEXT[found.seen]}. "
        f"Likely causes, most likely first: {listed} The model keeps its last good weights."
    )


def _times(ratio: float) -> str:
    """ "40x", "3.3e+302x", or for a ratio too large for a float, "far above"."""
    if not math.isfinite(ratio):
        return "far above"
    return f"{ratio:,.0f}x" if ratio < 1e7 else f"{ratio:.2g}x"

"""The M2 objective of Kingma et al. (2014), eq. 6-9, per image of the training set.

Labelled:   -L(x, y) = -E_q(z|x,y)[log p(x|y,z) + log p(y) + log p(z) - log q(z|x,y)]
Unlabelled: -U(x)    = -(sum_y q(y|x) L(x, y) + H(q(y||x)))
J_alpha = sum_labelled -L + sum_unlabelled -U + alpha * E_labelled[-log q(y|x)],
with the paper's alpha = 0.1 N. Divided by N, one batch's unbiased estimate of J_alpha / N is
  (N_l / N) mean_l(-L) + (N_u / N) mean_u(-U) + 0.1 mean_l(-log q(y|x)),
whatever the mix of labelled and unlabelled images in the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..model import kl_divergence
from .model import M2Networks, one_hot


@dataclass(frozen=True)
class LossWeights:
    """Shares of the training set and the classification weight, per training image."""

    labelled_share: float  # N_l / N
    unlabelled_share: float  # N_u / N
    alpha: float = 0.1  # the paper's alpha = 0.1 N, divided by N

    @classmethod
    def for_split(cls, labelled: int, unlabelled: int, alpha: float = 0.1) -> LossWeights:
        n = labelled + unlabelled
        return cls(labelled / n, unlabelled / n, alpha)

    @classmethod
    def oversampled(
        cls, labelled_batch: int, unlabelled_batch: int, labelled: int, total: int, alpha: float = 0.1
    ) -> LossWeights:
        """Every image of a batch weighs the same (the few labels oversampled), and the
        classification term keeps the paper's weight relative to a labelled image's ELBO:
        alpha N / N_l (60 for 100 of 60,000 labels at the paper's alpha = 0.1 N)."""
        shares = cls.for_split(labelled_batch, unlabelled_batch)
        return cls(
            shares.labelled_share, shares.unlabelled_share, alpha * total / labelled * shares.labelled_share
        )


def labelled_terms(
    nets: M2Networks,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
    posterior: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(-log p(x|y,z) for one draw z ~ q(z|x,y), KL(q(z|x,y) || p(z))), each [B]: the
    VAE's two ELBO terms with y given. ``eps``: the standard normal draw to use;
    ``posterior``: q(z|x,y)'s (mean, log-variance) when the caller has them already."""
    y1h = one_hot(y, nets.config.classes, x.dtype)
    mu, logvar = nets.encode(x, y1h) if posterior is None else posterior
    # In float32 from here even under bf16 autocast (the job's bf16 products): the noise,
    # the KL and the likelihood's per-pixel terms and sums.
    mu, logvar = mu.float(), logvar.float()
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    first, second = nets.decode_params(z, y1h)
    params = (first.float(), None if second is None else second.float())
    recon = -nets.log_likelihood(x, params)
    return recon, kl_divergence(mu, logvar)


def labelled_elbo(
    nets: M2Networks,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
    posterior: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """L(x, y) per image [B]: the ELBO of log p(x, y) with the uniform p(y)
    (``posterior`` as in :func:`labelled_terms`)."""
    recon, kl = labelled_terms(nets, x, y, generator, eps, posterior)
    return -(recon + kl) - math.log(nets.config.classes)


def unlabelled_elbo(
    nets: M2Networks,
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
    logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """U(x) per image [B]: L(x, y) summed over every class y under q(y|x), plus the
    entropy of q(y|x). All classes run as one batch; ``eps``: [classes, B, latent_dim]."""
    classes, b = nets.config.classes, x.shape[0]
    ys = torch.arange(classes, device=x.device).repeat_interleave(b)
    flat_eps = None if eps is None else eps.reshape(classes * b, -1)
    posterior = nets.encode_every_class(x)
    per_class = (
        labelled_elbo(nets, x.repeat(classes, 1), ys, generator, flat_eps, posterior).view(classes, b).T
    )
    log_q = F.log_softmax((nets.class_logits(x) if logits is None else logits).float(), -1)
    q = log_q.exp()
    return (q * per_class).sum(-1) - (q * log_q).sum(-1)


def m2_loss(
    nets: M2Networks,
    x_l: torch.Tensor,
    y_l: torch.Tensor,
    x_u: torch.Tensor,
    weights: LossWeights,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One batch's estimate of J_alpha / N (module doc) and its parts (detached means)."""
    recon_l, kl_l = labelled_terms(nets, x_l, y_l, generator)
    neg_l = recon_l + kl_l + math.log(nets.config.classes)
    ce = F.cross_entropy(nets.class_logits(x_l), y_l.long())
    loss = weights.labelled_share * neg_l.mean() + weights.alpha * ce
    parts = {"labelled": neg_l.mean().detach(), "classification": ce.detach(), "kl": kl_l.mean().detach()}
    if x_u.shape[0] and weights.unlabelled_share > 0:
        neg_u = -unlabelled_elbo(nets, x_u, generator)
        loss = loss + weights.unlabelled_share * neg_u.mean()
        parts["unlabelled"] = neg_u.mean().detach()
    return loss, parts

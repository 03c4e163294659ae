"""A hand-derived forward/backward pass of M2's loss (:func:`.loss.m2_loss`), as
:mod:`..training.mlp_step` is for the VAE.

The labelled images and the unlabelled ones under every class (class-major, as
:func:`.loss.unlabelled_elbo`) run as one batch of ELBO rows, each weighted by its share of
the loss: N_l / (N B_l) for a labelled row, q(y|x) N_u / (N B_u) for an unlabelled one. One
backward pass of the VAE serves both terms; q(y|x) gets the unlabelled term's gradient
through its logits, q_y (s_y - sum_k q_k s_k) with s_y = -L(x, y) + log q_y. Gradients go
into preallocated ``.grad`` buffers; the products, their bf16 operands (``bf16_products``)
and the buffers kept from step to step are in :mod:`.m2_products`. Weights, activations,
losses and Adam stay in the networks' dtype. ``tests/core/test_m2_step.py`` checks all
against autograd of m2_loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..activations import tanh_
from ..model import _GAUSSIAN_LOG_NORMALISER
from ..training.mlp_step import _PRODUCT_CHUNK, _grad
from .loss import LossWeights
from .m2_products import Products, serially
from .model import _FEATURE_LOGVAR_RANGE, KINDS, M2Networks

_tanh_backward = torch.ops.aten.tanh_backward.grad_input


class M2Draws(NamedTuple):
    """The step's randomness: q(z|x,y)'s standard normal draws for the labelled images
    [B_l, latent] and the unlabelled ones under every class [classes * B_u, latent]
    (class-major), and q(y|x)'s dropout masks (0 or 1 / (1 - p)) on its two hidden
    layers, [B_l + B_u, hidden] each (labelled images first)."""

    eps_l: Tensor
    eps_u: Tensor | None = None
    masks: tuple[Tensor, Tensor] | None = None


def unsupported(nets: nn.Module) -> str | None:
    """Why :class:`M2Step` cannot train ``nets`` (the caller then uses autograd), or None."""
    if type(nets) is not M2Networks:
        return f"{type(nets).__name__} is not the M2Networks the step is written for"
    c = nets.config
    if c.kind not in KINDS or c.likelihood not in ("bernoulli", "gaussian"):
        return f"no hand-derived step for a {c.kind} model with a {c.likelihood} likelihood"
    dtypes = {p.dtype for p in nets.parameters()}
    if len(dtypes) != 1 or not dtypes <= {torch.float32, torch.float64}:
        return f"parameters in {sorted(map(str, dtypes))}; the step needs all float32 or all float64"
    return None


class M2Step:
    """Computes M2's loss and its parts as :func:`.loss.m2_loss` does and fills
    ``param.grad`` for every parameter of the networks."""

    def __init__(self, nets: M2Networks, bf16_products: bool = False) -> None:
        reason = unsupported(nets)
        if reason is not None:
            raise ValueError(reason)
        self.nets, self.bf16 = nets, bf16_products
        self.features = nets.config.kind == "m1m2"
        self.bernoulli = not self.features and nets.config.likelihood == "bernoulli"
        # Joint layers: the encoder's heads; the decoder's outputs (M1+M2: mean, log-variance).
        self._heads = (nets.enc_mu, nets.enc_logvar)
        self._outs = (nets.dec_out, nets.dec_logvar) if self.features else (nets.dec_out,)
        self._params = list(nets.parameters())
        self._bind_grads()
        self._p = Products(bf16_products, nets.enc_mu.weight.device)

    def _bind_grads(self) -> None:
        """A gradient buffer for every parameter; each joint layer's as one buffer per
        weight and bias whose parts are its layers' gradients, so one product fills both."""
        self._joint: dict[str, tuple[Tensor, Tensor]] = {}
        for name, layers in (("heads", self._heads), ("outs", self._outs)):
            weight = torch.zeros_like(torch.cat([m.weight for m in layers]))
            bias = torch.zeros_like(torch.cat([m.bias for m in layers]))
            sizes = [m.bias.shape[0] for m in layers]
            for m, w, b in zip(layers, weight.split(sizes), bias.split(sizes), strict=True):
                m.weight.grad, m.bias.grad = w, b
            self._joint[name] = (weight, bias)
        self._grads = [_grad(p) for p in self._params]

    def draws(self, labelled: int, unlabelled: int, generator: torch.Generator | None = None) -> M2Draws:
        """Draws for ``labelled`` and ``unlabelled`` images (0: no unlabelled term), the
        normal ones in m2_loss's order (the same generator gives it the same noise), then
        the dropout masks (in training mode)."""
        c, ref = self.nets.config, self.nets.enc_mu.weight

        def normal(rows: int) -> Tensor:
            return torch.randn((rows, c.latent_dim), generator=generator, device=ref.device, dtype=ref.dtype)

        eps_l, eps_u = normal(labelled), (normal(c.classes * unlabelled) if unlabelled else None)
        p, masks = c.classifier_dropout, None
        if p > 0 and self.nets.training:
            shape = (labelled + unlabelled, c.classifier_hidden_dim)
            kept = [torch.empty(shape, device=ref.device, dtype=ref.dtype) for _ in range(2)]
            masks = (kept[0].bernoulli_(1 - p, generator=generator).div_(1 - p),
                     kept[1].bernoulli_(1 - p, generator=generator).div_(1 - p))  # fmt: skip
        return M2Draws(eps_l, eps_u, masks)

    @torch.no_grad()
    def __call__(
        self, x_l: Tensor, y_l: Tensor, x_u: Tensor, weights: LossWeights, draws: M2Draws
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """One batch's loss (0-d) and its parts, as m2_loss; the gradients in ``.grad``."""
        if any(p.grad is not g for p, g in zip(self._params, self._grads, strict=True)):
            self._bind_grads()  # someone replaced a gradient (zero_grad(set_to_none), ...)
        classes, bl = self.nets.config.classes, x_l.shape[0]
        bu = x_u.shape[0] if x_u.shape[0] and weights.unlabelled_share > 0 else 0
        if bu and draws.eps_u is None:
            raise ValueError("the unlabelled term needs draws for the unlabelled images")
        self._bl, self._bu = bl, bu
        x = torch.cat((x_l, x_u[:bu])) if bu else x_l
        y = y_l.long()
        self._p.weights = self._current_weights()
        # q(y|x)'s first layer and the encoder's share of x as one product.
        from_x, x_low = self._p.linear("x", x)
        hc = self.nets.config.classifier_hidden_dim
        logits, saved = self._classifier(from_x[:, :hc], draws.masks)
        eps = draws.eps_l
        if bu and draws.eps_u is not None:
            eps = torch.cat((eps, draws.eps_u.view(-1, eps.shape[1])))
        log_q = serially(F.log_softmax, logits, -1)
        q = serially(torch.exp, log_q)
        w = torch.full((bl + classes * bu,), weights.labelled_share / bl, dtype=x.dtype, device=x.device)
        if bu:
            w[bl:] = q[bl:].t().reshape(-1) * (weights.unlabelled_share / bu)
        rows, kl, d_from_image = self._elbo_rows(from_x[:, hc:], x, y, eps, w)
        rows = rows.add_(math.log(classes))  # -L(x, y) per row
        # q(y|x)'s logits: cross-entropy on the labelled images, the unlabelled term's
        # gradient on the others.
        d_logits = q.clone()
        d_logits[:bl].scatter_add_(1, y[:, None], torch.full((bl, 1), -1.0, dtype=x.dtype, device=x.device))
        d_logits[:bl].mul_(weights.alpha / bl)
        ce = -log_q[:bl].gather(1, y[:, None]).mean()
        neg_l = rows[:bl].mean()
        loss = weights.labelled_share * neg_l + weights.alpha * ce
        parts = {"labelled": neg_l, "classification": ce, "kl": kl[:bl].mean()}
        if bu:
            s = rows[bl:].view(classes, bu).t() + log_q[bl:]
            neg_u = (q[bl:] * s).sum(-1)  # -U(x)
            d_logits[bl:].mul_(s.sub_(neg_u[:, None])).mul_(weights.unlabelled_share / bu)
            parts["unlabelled"] = neg_u.mean()
            loss = loss + weights.unlabelled_share * parts["unlabelled"]
        d_from_cls = self._classifier_backward(d_logits, saved, draws.masks)
        g_x = self._p.buffer("x.grad", self._p.weights["x"].shape, x.dtype)
        d_x = self._p.buffer("x.d32", (x.shape[0], g_x.shape[0]), x.dtype)
        torch.cat((d_from_cls, d_from_image), 1, out=d_x)
        self._p.linear_backward("x", d_x, x, x_low, g_x, need_input=False)
        _grad(self.nets.cls_hidden.weight).copy_(g_x[:hc])
        _grad(self.nets.enc_hidden.weight)[:, : x.shape[1]].copy_(g_x[hc:])
        return loss, parts

    def _elbo_rows(
        self, from_image: Tensor, x: Tensor, y: Tensor, eps: Tensor, w: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """-log p(x|y,z) + KL and the KL per row given x W_x per image; the gradients of their
        w-weighted sum go into the encoder's (but W_x's) and decoder's .grad, and back."""
        n = self.nets
        d, zdim, hidden = x.shape[1], n.config.latent_dim, n.config.hidden_dim
        enc, dec = n.enc_hidden, n.dec_hidden
        g_enc, g_enc_b, g_dec, g_dec_b = (_grad(p) for p in (enc.weight, enc.bias, dec.weight, dec.bias))
        # Encoder's hidden layer on [x, onehot(y)]: x W_x once per image, plus W_y[y] + b.
        h1 = self._per_class(from_image, torch.add(enc.weight[:, d:].t(), enc.bias), y, "h1")
        h1 = serially(tanh_, h1.mul_(2.0))
        heads, h1_low = self._p.linear("heads", h1, torch.cat([layer.bias for layer in self._heads]))
        mu, logvar = heads[:, :zdim], heads[:, zdim:]
        var = serially(torch.exp, logvar)
        noise = var.sqrt().mul_(eps)
        z = mu + noise
        kl = torch.addcmul(var - logvar, mu, mu).sub_(1.0).sum(-1).mul_(0.5)
        # Decoder: hidden layer on [z, onehot(y)], the output layer, the likelihood.
        a2, z_low = self._p.linear("decz", z, out="a2")
        a2 = self._per_class(a2, torch.add(dec.weight[:, zdim:].t(), dec.bias), y, "a2")
        h2 = serially(tanh_, a2.mul_(2.0))
        out, h2_low = self._p.linear("outs", h2, torch.cat([layer.bias for layer in self._outs]), out="out")
        recon, d_out = self._likelihood(out, x, w[:, None])
        # Backward through the decoder.
        g_outs, g_outs_b = self._joint["outs"]
        dh2 = self._p.linear_backward("outs", d_out, h2, h2_low, g_outs, g_outs_b, out="dh")
        da2 = _tanh_backward(dh2, h2, grad_input=dh2)
        self._class_sums(da2, y, g_dec[:, zdim:], g_dec_b)
        dz = self._p.linear_backward("decz", da2, z, z_low, g_dec[:, :zdim])
        # Through the reparameterisation and the KL term, both heads at once.
        d_heads = torch.empty_like(heads)
        torch.addcmul(dz, mu, w[:, None], out=d_heads[:, :zdim])
        d_heads[:, zdim:] = var.sub_(1.0).mul_(w[:, None]).add_(dz.mul_(noise)).mul_(0.5)
        g_heads, g_heads_b = self._joint["heads"]
        dh1 = self._p.linear_backward("heads", d_heads, h1, h1_low, g_heads, g_heads_b, out="dh")
        da1 = _tanh_backward(dh1, h1, grad_input=dh1)
        self._class_sums(da1, y, g_enc[:, d:], g_enc_b)
        bl, bu = self._bl, self._bu
        per_image = torch.cat((da1[:bl], da1[bl:].view(-1, bu, hidden).sum(0))) if bu else da1
        return recon.add_(kl), kl, per_image

    def _per_class(self, t: Tensor, per_class: Tensor, y: Tensor, name: str) -> Tensor:
        """Rows of ``t`` (per image, or already per row) plus their class's row of ``per_class``."""
        bl, bu = self._bl, self._bu
        out = self._p.buffer(name, (bl + per_class.shape[0] * bu, t.shape[1]), t.dtype)
        torch.add(t[:bl], per_class.index_select(0, y), out=out[:bl])
        if bu:
            rest = t[bl:] if t.shape[0] == bl + bu else t[bl:].view(per_class.shape[0], bu, -1)
            torch.add(per_class[:, None, :], rest, out=out[bl:].view(per_class.shape[0], bu, -1))
        return out

    def _with_x(self, op: Callable[..., Tensor], t: Tensor, x: Tensor, out: Tensor) -> Tensor:
        """op(t, the image of each row, out=out): x's rows broadcast over the classes."""
        bl, bu = self._bl, self._bu
        op(t[:bl], x[:bl], out=out[:bl])
        if bu:
            op(t[bl:].view(-1, bu, t.shape[1]), x[bl:], out=out[bl:].view(-1, bu, t.shape[1]))
        return out

    def _likelihood(self, out: Tensor, x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        """-log p(x|y,z) per row, and its gradient w.r.t. ``out`` times the rows' weights."""
        if self.features:
            return self._feature_likelihood(out, x, w)
        mean = serially(torch.sigmoid, out, out=self._p.buffer("mean", out.shape, out.dtype))
        tmp = self._p.buffer("tmp", out.shape, out.dtype)
        if self.bernoulli:
            # softplus(l) - x l = relu(l) - x l - log(max(s, 1 - s)); the logs taken of
            # products of 112 factors in [0.5, 1] (mlp_step.bernoulli_nll_sum).
            recon = torch.clamp_min(out, 0.0, out=tmp).sum(-1)
            recon.sub_(self._with_x(torch.mul, out, x, tmp).sum(-1))
            closer = torch.maximum(mean, torch.sub(1.0, mean, out=tmp), out=tmp)
            if closer.shape[1] % _PRODUCT_CHUNK == 0:
                recon.sub_(closer.view(closer.shape[0], -1, _PRODUCT_CHUNK).prod(-1).log_().sum(-1))
            else:
                recon.sub_(serially(torch.log_, closer).sum(-1))
            return recon, self._with_x(torch.sub, mean, x, mean).mul_(w)
        # N(x; sigmoid(l), 1/2): sum (x - s)^2 + const; d/dl = 2 (s - x) s (1 - s).
        diff = self._with_x(torch.sub, mean, x, tmp)
        recon = diff.square().sum(-1).add_(_GAUSSIAN_LOG_NORMALISER)
        return recon, diff.mul_(mean).mul_(mean.neg_().add_(1.0)).mul_(2.0 * w)

    def _feature_likelihood(self, out: Tensor, x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        """M1+M2's Gaussian: 0.5 sum((x - m)^2 / v + log v + log 2 pi), log v clamped."""
        d = x.shape[1]
        mean, raw = out[:, :d], out[:, d:]
        logvar = raw.clamp(*_FEATURE_LOGVAR_RANGE)
        inside = (raw >= _FEATURE_LOGVAR_RANGE[0]) & (raw <= _FEATURE_LOGVAR_RANGE[1])
        diff = self._with_x(torch.sub, mean, x, torch.empty_like(mean))
        scaled = diff * serially(torch.exp_, logvar.neg())  # (m - x) / v
        sq = diff.mul_(scaled)  # (x - m)^2 / v
        recon = (sq + logvar).sum(-1).add_(d * math.log(2 * math.pi)).mul_(0.5)
        d_out = torch.empty_like(out)
        torch.mul(scaled, w, out=d_out[:, :d])
        torch.mul(sq.neg_().add_(1.0).mul_(inside), 0.5 * w, out=d_out[:, d:])
        return recon, d_out

    def _class_sums(self, da: Tensor, y: Tensor, g_classes: Tensor, g_bias: Tensor) -> None:
        """The one-hot columns' gradients (each class's rows of ``da`` summed) and the bias's."""
        bl, bu = self._bl, self._bu
        classes = g_classes.shape[1]
        sums = da[bl:].view(classes, bu, -1).sum(1) if bu else da.new_zeros((classes, da.shape[1]))
        sums.index_add_(0, y, da[:bl])
        g_classes.copy_(sums.t())
        torch.sum(sums, 0, out=g_bias)

    def _classifier(
        self, from_x: Tensor, masks: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, list[Tensor | None]]:
        """Logits of q(y|x) given x W_1, and what its backward needs."""
        n = self.nets
        h1 = serially(F.softplus, from_x + n.cls_hidden.bias)
        h1_in = h1 if masks is None else h1 * masks[0]
        a2, h1_low = self._p.linear("cls2", h1_in, n.cls_hidden2.bias)
        h2 = serially(F.softplus, a2)
        h2_in = h2 if masks is None else h2 * masks[1]
        logits, h2_low = self._p.linear("cls_out", h2_in, n.cls_out.bias)
        return logits, [h1, h1_in, h1_low, h2, h2_in, h2_low]

    def _classifier_backward(
        self, d_logits: Tensor, saved: list[Tensor | None],
        masks: tuple[Tensor, Tensor] | None,
    ) -> Tensor:  # fmt: skip
        """Fills the gradients of q(y|x) but for W_1's; returns dloss/d(x W_1)."""
        n = self.nets
        h1, h1_in, h1_low, h2, h2_in, h2_low = saved
        assert h1 is not None and h1_in is not None and h2 is not None and h2_in is not None
        out, hid2 = n.cls_out, n.cls_hidden2
        g_out, g_out_b, g2, g2_b, g1_b = (_grad(p) for p in (out.weight, out.bias, hid2.weight, hid2.bias,
                                                             n.cls_hidden.bias))  # fmt: skip
        da2 = self._p.linear_backward("cls_out", d_logits, h2_in, h2_low, g_out, g_out_b)
        if masks is not None:
            da2.mul_(masks[1])
        da2.mul_(serially(torch.expm1_, h2.neg_()).neg_())  # softplus'(a) = 1 - exp(-softplus(a))
        da1 = self._p.linear_backward("cls2", da2, h1_in, h1_low, g2, g2_b)
        if masks is not None:
            da1.mul_(masks[0])
        da1.mul_(serially(torch.expm1_, h1.neg_()).neg_())
        torch.sum(da1, 0, out=g1_b)
        return da1

    def _current_weights(self) -> dict[str, Tensor]:
        """Every product's weight [out, in] by name (its layers' side by side; Products.join
        makes them, in bf16 where the product takes bf16 operands)."""
        n, c = self.nets, self.nets.config
        d, zdim = c.data_dim, c.latent_dim
        layers = {
            "x": (
                [n.cls_hidden.weight, n.enc_hidden.weight[:, :d]],
                min(c.hidden_dim, c.classifier_hidden_dim),
            ),
            "cls2": ([n.cls_hidden2.weight], c.classifier_hidden_dim),
            "cls_out": ([n.cls_out.weight], c.classes),
            "heads": ([layer.weight for layer in self._heads], zdim),
            "decz": ([n.dec_hidden.weight[:, :zdim]], zdim),
            "outs": ([layer.weight for layer in self._outs], d),
        }
        return self._p.join(layers)

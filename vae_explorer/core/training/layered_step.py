"""The hand-derived training step for MLP VAEs of any depth and activation.

:class:`~.mlp_step.MLPStep` is tuned for the classic shape (one tanh layer, optional bf16
products); this step covers the rest (784-400-20 relu, 784-200-200-50 tanh, softplus
layers) with the same idea: each bias add fused into its product, the gradients written
straight into ``.grad``, every activation's derivative read off its output in place
(tanh' = 1 - h^2, relu' = [h > 0], softplus' = sigmoid(a) = 1 - exp(-h)), no autograd
graph. ``tests/core/test_layered_step.py`` checks it against autograd;
``benchmarks/train_bench.py --hidden 200,200 --latent-dim 50`` prints its speed beside
autograd's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..model import _GAUSSIAN_LOG_NORMALISER, VAE
from .mlp_step import _grad, bernoulli_nll_sum


def _activate_(a: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "tanh":
        return a.tanh_()
    if activation == "relu":
        return a.relu_()
    return F.softplus(a)


def _times_derivative(d: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """d * f'(a) given h = f(a); for softplus in place, and h is spent."""
    # tanh and relu: one fused pass each (the kernels autograd uses), no temporaries.
    if activation == "tanh":
        return torch.ops.aten.tanh_backward(d, h)
    if activation == "relu":
        return torch.ops.aten.threshold_backward(d, h, 0.0)
    return d.mul_(h.neg_().expm1_().neg_())


class LayeredMLPStep:
    """Computes the beta-ELBO loss and fills ``param.grad`` for every MLP parameter."""

    def __init__(self, model: VAE, beta: float) -> None:
        if model.config.arch != "mlp":
            raise ValueError("LayeredMLPStep only handles the MLP architecture")
        self.m = model
        self.beta = beta
        self.activation = model.config.activation
        self.bf16 = False  # the loop asks; bf16 products are the classic step's alone
        self.bernoulli = model.config.likelihood == "bernoulli"
        self.encoder = model.encoder_layers()
        self.decoder = model.decoder_layers()
        for p in model.parameters():
            _grad(p)

    def _forward(self, layers: list[nn.Linear], x: torch.Tensor) -> list[torch.Tensor]:
        """[input, h1, h2, ...]: each layer's input, then the last layer's output."""
        outs = [x]
        for layer in layers:
            outs.append(_activate_(torch.addmm(layer.bias, outs[-1], layer.weight.t()), self.activation))
        return outs

    def _backward(
        self, layers: list[nn.Linear], outs: list[torch.Tensor], d: torch.Tensor, to_input: bool
    ) -> torch.Tensor:
        """Fill the layers' grads from d = dL/d(last output); returns dL/d(input) when
        ``to_input`` (the decoder's, for z), else the gradient at the first layer's output
        (the encoder's [B, 784] input gradient is never needed)."""
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            d = _times_derivative(d, outs[i + 1], self.activation)
            torch.mm(d.t(), outs[i], out=_grad(layer.weight))
            torch.sum(d, 0, out=_grad(layer.bias))
            if i > 0 or to_input:
                d = torch.mm(d, layer.weight)
        return d

    @torch.no_grad()
    def __call__(
        self, x: torch.Tensor, eps: torch.Tensor, x_low: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean reconstruction NLL and mean KL over the batch (0-d tensors, no sync).
        ``x_low`` is accepted for the loop's sake and unused (no bf16 products here)."""
        m, beta = self.m, self.beta
        inv_b = 1.0 / x.shape[0]
        enc = self._forward(self.encoder, x)
        top = enc[-1]
        mu = torch.addmm(m.enc_mu.bias, top, m.enc_mu.weight.t())
        logvar = torch.addmm(m.enc_logvar.bias, top, m.enc_logvar.weight.t())
        var = logvar.exp()
        std = var.sqrt()
        z = torch.addcmul(mu, std, eps)
        dec = self._forward(self.decoder, z)
        logits = torch.addmm(m.dec_out.bias, dec[-1], m.dec_out.weight.t())
        mean = torch.sigmoid(logits)
        if self.bernoulli:
            recon = bernoulli_nll_sum(logits, x, mean) * inv_b
            dlogits = mean.sub_(x).mul_(inv_b)
        else:
            diff = mean - x
            recon = diff.square().sum(1).sum() * inv_b + _GAUSSIAN_LOG_NORMALISER
            dlogits = diff.mul_(mean).mul_(1.0 - mean).mul_(2.0 * inv_b)
        kl = (torch.addcmul(var - logvar, mu, mu).sum() - mu.numel()) * (0.5 * inv_b)
        # Backward: the 1/B of the batch mean is in dlogits, so every product below has it.
        torch.mm(dlogits.t(), dec[-1], out=_grad(m.dec_out.weight))
        torch.sum(dlogits, 0, out=_grad(m.dec_out.bias))
        dz = self._backward(self.decoder, dec, torch.mm(dlogits, m.dec_out.weight), to_input=True)
        dmu = dz + (beta * inv_b) * mu
        dlogvar = dz.mul_(eps).mul_(std).mul_(0.5).add_((0.5 * beta * inv_b) * var.sub_(1.0))
        torch.mm(dmu.t(), top, out=_grad(m.enc_mu.weight))
        torch.sum(dmu, 0, out=_grad(m.enc_mu.bias))
        torch.mm(dlogvar.t(), top, out=_grad(m.enc_logvar.weight))
        torch.sum(dlogvar, 0, out=_grad(m.enc_logvar.bias))
        d_top = torch.mm(dmu, m.enc_mu.weight).addmm_(dlogvar, m.enc_logvar.weight)
        self._backward(self.encoder, enc, d_top, to_input=False)
        return recon, kl

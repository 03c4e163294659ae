"""The hand-derived training step for MLP VAEs of any depth and activation.

:class:`~.mlp_step.MLPStep` is tuned for the classic shape (one tanh layer); this step
covers the rest (784-400-20 relu, 784-200-200-50 tanh, softplus layers) with the same idea:
each bias add fused into its product, the gradients written straight into ``.grad``, every
activation's derivative read off its output in place (tanh' = 1 - h^2, relu' = [h > 0],
softplus' = sigmoid(a) = 1 - exp(-h)), no autograd graph. With ``bf16_products`` the
products of the large layers (both sides of the weight 64 or more) take bf16 operands, as
the classic step's do; weights, activations, gradients and Adam stay float32.
``tests/core/test_layered_step.py`` checks it against autograd; ``benchmarks/train_bench.py
--deeper`` prints its speed beside autograd's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..model import _GAUSSIAN_LOG_NORMALISER, VAE
from .mlp_step import _grad, bernoulli_nll_sum


def _activate_(a: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "tanh":
        return a.tanh_()  # exact: the derivative of saturated units is read off h
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

    def __init__(self, model: VAE, beta: float, bf16_products: bool = False) -> None:
        if model.config.arch != "mlp":
            raise ValueError("LayeredMLPStep only handles the MLP architecture")
        self.m = model
        self.beta = beta
        self.activation = model.config.activation
        self.bf16 = bf16_products
        self.bernoulli = model.config.likelihood == "bernoulli"
        self.encoder = model.encoder_layers()
        self.decoder = model.decoder_layers()
        for p in model.parameters():
            _grad(p)
        layers = [*self.encoder, *self.decoder, model.dec_out]
        # bf16 copies of the large layers' weights, refreshed in place each step.
        self._low: dict[nn.Linear, torch.Tensor] = (
            {layer: torch.empty_like(layer.weight, dtype=torch.bfloat16) for layer in layers if _large(layer)}
            if bf16_products
            else {}
        )

    def _refresh_low_weights(self) -> None:
        for layer, low in self._low.items():
            if low.shape != layer.weight.shape or low.device != layer.weight.device:
                self._low[layer] = low = torch.empty_like(layer.weight, dtype=torch.bfloat16)
            low.copy_(layer.weight)

    def _linear(
        self, layer: nn.Linear, h: torch.Tensor, lows: list[torch.Tensor | None], i: int
    ) -> torch.Tensor:
        """layer(h) for h = the i-th layer input; a large layer's product in bf16 (its bf16
        input kept in ``lows[i]`` for the weight gradient)."""
        low = self._low.get(layer)
        if low is None:
            return torch.addmm(layer.bias, h, layer.weight.t())
        if lows[i] is None:
            lows[i] = h.to(torch.bfloat16)
        return torch.add(lows[i] @ low.t(), layer.bias)  # type: ignore[operator]

    def _forward(
        self, layers: list[nn.Linear], x: torch.Tensor, x_low: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """[input, h1, h2, ...]: each layer's input, then the last layer's output; and the
        bf16 copies of the inputs the bf16 products read (None elsewhere)."""
        outs = [x]
        lows: list[torch.Tensor | None] = [x_low]
        for i, layer in enumerate(layers):
            outs.append(_activate_(self._linear(layer, outs[i], lows, i), self.activation))
            lows.append(None)
        return outs, lows

    def _weight_grads(
        self, layer: nn.Linear, d: torch.Tensor, h: torch.Tensor, h_low: torch.Tensor | None, back: bool
    ) -> torch.Tensor | None:
        """Fill the layer's grads from d = dL/d(its output) and its input h; returns
        dL/d(input) when ``back``."""
        torch.sum(d, 0, out=_grad(layer.bias))
        low = self._low.get(layer)
        if low is None or h_low is None:
            torch.mm(d.t(), h, out=_grad(layer.weight))
            return torch.mm(d, layer.weight) if back else None
        d_low = d.to(torch.bfloat16)
        _grad(layer.weight).copy_(d_low.t() @ h_low)
        return (d_low @ low).float() if back else None

    def _backward(
        self,
        layers: list[nn.Linear],
        outs: list[torch.Tensor],
        lows: list[torch.Tensor | None],
        d: torch.Tensor,
        to_input: bool,
    ) -> torch.Tensor:
        """Fill the layers' grads from d = dL/d(last output); returns dL/d(input) when
        ``to_input`` (the decoder's, for z), else the gradient at the first layer's output
        (the encoder's [B, 784] input gradient is never needed)."""
        for i in range(len(layers) - 1, -1, -1):
            d = _times_derivative(d, outs[i + 1], self.activation)
            back = self._weight_grads(layers[i], d, outs[i], lows[i], i > 0 or to_input)
            if back is not None:
                d = back
        return d

    @torch.no_grad()
    def __call__(
        self, x: torch.Tensor, eps: torch.Tensor, x_low: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean reconstruction NLL and mean KL over the batch (0-d tensors, no sync).
        ``x_low``: the batch already in bf16 (used by the bf16 products, if any)."""
        m, beta = self.m, self.beta
        inv_b = 1.0 / x.shape[0]
        self._refresh_low_weights()
        enc, enc_lows = self._forward(self.encoder, x, x_low)
        top = enc[-1]
        mu = torch.addmm(m.enc_mu.bias, top, m.enc_mu.weight.t())
        logvar = torch.addmm(m.enc_logvar.bias, top, m.enc_logvar.weight.t())
        var = logvar.exp()
        std = var.sqrt()
        z = torch.addcmul(mu, std, eps)
        dec, dec_lows = self._forward(self.decoder, z)
        logits = self._linear(m.dec_out, dec[-1], dec_lows, len(dec) - 1)  # (its input's slot)
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
        d_dec = self._weight_grads(m.dec_out, dlogits, dec[-1], dec_lows[-1], True)
        assert d_dec is not None
        dz = self._backward(self.decoder, dec, dec_lows, d_dec, to_input=True)
        dmu = dz + (beta * inv_b) * mu
        dlogvar = dz.mul_(eps).mul_(std).mul_(0.5).add_((0.5 * beta * inv_b) * var.sub_(1.0))
        torch.mm(dmu.t(), top, out=_grad(m.enc_mu.weight))
        torch.sum(dmu, 0, out=_grad(m.enc_mu.bias))
        torch.mm(dlogvar.t(), top, out=_grad(m.enc_logvar.weight))
        torch.sum(dlogvar, 0, out=_grad(m.enc_logvar.bias))
        d_top = torch.mm(dmu, m.enc_mu.weight).addmm_(dlogvar, m.enc_logvar.weight)
        self._backward(self.encoder, enc, enc_lows, d_top, to_input=False)
        return recon, kl


def _large(layer: nn.Linear) -> bool:
    """Whether a layer's products gain from bf16 operands: both sides of its weight 64 or
    more (the latent-sized heads and the first decoder layer stay float32)."""
    return min(layer.weight.shape) >= 64

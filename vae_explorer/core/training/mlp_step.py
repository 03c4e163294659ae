"""A hand-derived forward/backward pass for the MLP VAE (the seed model's hot loop).

Autograd spends about as long on bookkeeping and separate element-wise kernels as the five
large matrix products take for this small model on a CPU. Writing the gradients out lets
each layer's bias add fuse into its product (addmm), reuse the activations, and write the
gradients straight into preallocated ``.grad`` buffers, so the step is close to the cost of
its matrix products. ``tests/core/test_training.py`` checks it against autograd.
"""

from __future__ import annotations

import torch

from ..model import _GAUSSIAN_LOG_NORMALISER, VAE


class MLPStep:
    """Computes the beta-ELBO loss and fills ``param.grad`` for every MLP parameter."""

    def __init__(self, model: VAE, beta: float, bf16_products: bool = False) -> None:
        if model.config.arch != "mlp":
            raise ValueError("MLPStep only handles the MLP architecture")
        self.m = model
        self.beta = beta
        # bf16 for the five 784 x 256 products only (fp32 weights, activations, Adam): on
        # CPUs with native bf16 they run 3-4x faster, and they dominate the step's time.
        self.bf16 = bf16_products
        self.bernoulli = model.config.likelihood == "bernoulli"
        for p in model.parameters():
            _grad(p)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean reconstruction NLL and mean KL over the batch (0-d tensors, no sync)."""
        m, beta = self.m, self.beta
        g_w1, g_b1 = _grad(m.enc_hidden.weight), _grad(m.enc_hidden.bias)
        g_wmu, g_bmu = _grad(m.enc_mu.weight), _grad(m.enc_mu.bias)
        g_wlv, g_blv = _grad(m.enc_logvar.weight), _grad(m.enc_logvar.bias)
        g_w2, g_b2 = _grad(m.dec_hidden.weight), _grad(m.dec_hidden.bias)
        g_wo, g_bo = _grad(m.dec_out.weight), _grad(m.dec_out.bias)
        batch = x.shape[0]
        inv_b = 1.0 / batch
        if self.bf16:
            low = torch.bfloat16
            x_low = x.to(low)
            w1_low = m.enc_hidden.weight.detach().to(low)
            wo_low = m.dec_out.weight.detach().to(low)
        # Encoder.
        if self.bf16:
            h1 = (x_low @ w1_low.t()).float().add_(m.enc_hidden.bias).tanh_()
        else:
            h1 = torch.addmm(m.enc_hidden.bias, x, m.enc_hidden.weight.t()).tanh_()
        mu = torch.addmm(m.enc_mu.bias, h1, m.enc_mu.weight.t())
        logvar = torch.addmm(m.enc_logvar.bias, h1, m.enc_logvar.weight.t())
        std = torch.exp(0.5 * logvar)
        z = torch.addcmul(mu, std, eps)
        # Decoder.
        h2 = torch.addmm(m.dec_hidden.bias, z, m.dec_hidden.weight.t()).tanh_()
        if self.bf16:
            h2_low = h2.to(low)
            logits = (h2_low @ wo_low.t()).float().add_(m.dec_out.bias)
        else:
            logits = torch.addmm(m.dec_out.bias, h2, m.dec_out.weight.t())
        mean = torch.sigmoid(logits)
        if self.bernoulli:
            # -log p(x|z) = softplus(l) - x*l ; d/dl = sigmoid(l) - x.
            x_dot_logits = torch.dot(x.reshape(-1), logits.reshape(-1))  # no [B, 784] temporary
            recon = (torch.nn.functional.softplus(logits).sum() - x_dot_logits) * inv_b
            dlogits = mean.sub_(x)
        else:
            # N(x; sigmoid(l), 1/2): -log p = sum (x - s)^2 + const ; d/dl = 2 (s - x) s (1 - s).
            diff = mean - x
            recon = diff.square().sum() * inv_b + _GAUSSIAN_LOG_NORMALISER
            dlogits = diff.mul_(mean).mul_(1.0 - mean).mul_(2.0)
        # dlogits is left unscaled; the 1/B of the batch mean is folded into the products below.
        var = logvar.exp()
        kl = -0.5 * (1 + logvar - mu.square() - var).sum() * inv_b
        # Backward through the decoder.
        if self.bf16:
            dlogits_low = dlogits.to(low)
            g_wo.copy_(dlogits_low.t() @ h2_low).mul_(inv_b)
            da2 = (dlogits_low @ wo_low).float()
        else:
            g_wo.addmm_(dlogits.t(), h2, beta=0, alpha=inv_b)
            da2 = torch.mm(dlogits, m.dec_out.weight)
        torch.sum(dlogits, 0, out=g_bo).mul_(inv_b)
        da2.mul_(h2.square_().neg_().add_(1.0).mul_(inv_b))  # h2 is not needed after this
        torch.mm(da2.t(), z, out=g_w2)
        torch.sum(da2, 0, out=g_b2)
        dz = torch.mm(da2, m.dec_hidden.weight)
        # Through the reparameterisation and the KL term.
        dmu = dz + (beta * inv_b) * mu
        dlogvar = dz * eps * (0.5 * std) + (0.5 * beta * inv_b) * (var - 1.0)
        torch.mm(dmu.t(), h1, out=g_wmu)
        torch.sum(dmu, 0, out=g_bmu)
        torch.mm(dlogvar.t(), h1, out=g_wlv)
        torch.sum(dlogvar, 0, out=g_blv)
        da1 = torch.mm(dmu, m.enc_mu.weight).addmm_(dlogvar, m.enc_logvar.weight)
        da1.mul_(1.0 - h1.square())
        if self.bf16:
            g_w1.copy_(da1.to(low).t() @ x_low)
        else:
            torch.mm(da1.t(), x, out=g_w1)
        torch.sum(da1, 0, out=g_b1)
        return recon, kl


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, allocated (zeros) if the parameter has none yet."""
    if p.grad is None:
        p.grad = torch.zeros_like(p)
    return p.grad

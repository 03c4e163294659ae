"""A hand-derived forward/backward pass for the MLP VAE (the seed model's hot loop).

Autograd spends about as long on bookkeeping and separate element-wise kernels as the five
large matrix products take for this small model on a CPU. Writing the gradients out lets
each layer's bias add fuse into its product (addmm), reuse the activations, write the
gradients straight into preallocated ``.grad`` buffers and keep the passes over the
[B, 784] tensors to the few the maths needs (the Bernoulli loss is read off the sigmoid the
gradient needs anyway, not from a separate softplus). What remains beyond the products is
mostly per-kernel overhead of the ~45 small kernels (README, Performance).
``tests/core/test_training.py`` and ``test_mlp_step_fused.py`` check it against autograd.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import torch

from ..activations import tanh_
from ..model import _GAUSSIAN_LOG_NORMALISER, VAE

# log(max(s, 1 - s)) is summed as the log of products of this many factors: each factor is
# in [0.5, 1], so a product stays >= 2**-112, well inside float32's normal range.
_PRODUCT_CHUNK = 112
# Elements from which an element-wise pass gains from splitting across threads (the grain
# size of torch's CPU kernels).
_SPLIT_WORTH = 32768


def bernoulli_nll_sum(logits: torch.Tensor, x: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """sum(softplus(l) - x * l) over all entries, given ``probs`` = sigmoid(l) (0-d tensor).

    softplus(l) = relu(l) - log(sigmoid(|l|)) and sigmoid(|l|) = max(s, 1 - s), so the
    sigmoid the gradient needs replaces the (several times dearer) softplus kernel; the
    logs are taken of chunked products (one log per 112 pixels). Exact to float32 rounding
    for any logits (|l| large included).
    """
    closer = torch.maximum(probs, 1.0 - probs).reshape(-1)
    n = closer.numel() - closer.numel() % _PRODUCT_CHUNK
    log_sum = closer[:n].view(-1, _PRODUCT_CHUNK).prod(1).log_().sum()
    if n < closer.numel():
        log_sum = log_sum + closer[n:].log().sum()
    # Row sums first: a reduction split across threads would change the last bits with the
    # thread count, and the loop changes that count under load (threads.py).
    rows = torch.addcmul(logits.clamp_min(0.0), x, logits, value=-1.0)
    return rows.sum(-1).sum() - log_sum


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
        # The parameters, looked up once (a module attribute costs a microsecond a time).
        m = model
        self._layers = (m.enc_hidden, m.enc_mu, m.enc_logvar, m.dec_hidden, m.dec_out)
        self._params = [t for layer in self._layers for t in (layer.weight, layer.bias)]
        self._bind_grads()
        # Low-precision copies of the two large weights, refreshed in place once per step.
        self._w1_low: torch.Tensor | None = None
        self._wo_low: torch.Tensor | None = None

    def _bind_grads(self) -> None:
        """Gradient buffers for every parameter; the two encoder heads' as the halves of one
        [2d, ...] buffer each (weights, biases), so one product fills both."""
        mu, logvar = self._layers[1], self._layers[2]
        both = []
        for mine, other in ((mu.weight, logvar.weight), (mu.bias, logvar.bias)):
            d = mine.shape[0]
            both.append(torch.zeros((2 * d, *mine.shape[1:]), device=mine.device))
            mine.grad, other.grad = both[-1][:d], both[-1][d:]
        self._heads_grad = (both[0], both[1])
        self._grads = [_grad(p) for p in self._params]

    def _low_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """bf16 copies of the two 784 x 256 weights as they are now (no new allocation)."""
        w1, wo = self._params[0], self._params[8]
        if self._w1_low is None or self._w1_low.shape != w1.shape or self._w1_low.device != w1.device:
            self._w1_low = torch.empty_like(w1, dtype=torch.bfloat16)
            self._wo_low = torch.empty_like(wo, dtype=torch.bfloat16)
        assert self._wo_low is not None
        return self._w1_low.copy_(w1), self._wo_low.copy_(wo)

    @torch.no_grad()
    def __call__(
        self, x: torch.Tensor, eps: torch.Tensor, x_low: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean reconstruction NLL and mean KL over the batch (0-d tensors, no sync).

        ``x_low``: the batch already in bf16 (the loop converts each epoch's data once), used
        by the bf16 products; converted here when not given.
        """
        threads = torch.get_num_threads()
        try:
            return self._step(x, eps, x_low, threads)
        finally:
            torch.set_num_threads(threads)  # (an error may leave a one-thread part early)

    def _step(
        self, x: torch.Tensor, eps: torch.Tensor, x_low: torch.Tensor | None, threads: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if any(p.grad is not g for p, g in zip(self._params, self._grads, strict=True)):
            self._bind_grads()  # someone replaced a gradient (zero_grad(set_to_none), ...)
        w1, b1, w_mu, b_mu, w_lv, b_lv, w2, b2, wo, bo = self._params
        g_w1, g_b1, _, _, _, _, g_w2, g_b2, g_wo, g_bo = self._grads
        g_heads, g_heads_bias = self._heads_grad
        beta, d = self.beta, w_mu.shape[0]
        inv_b = 1.0 / x.shape[0]
        # Products with a side of d (the latent size, 2) run on one thread: splitting them
        # costs more than it saves. The large products and passes use all threads.
        narrow = _one_thread if threads > 1 and x.device.type == "cpu" else _keep
        # Encoder's hidden layer: tanh(a) = 2 sigmoid(2a) - 1 (see activations.tanh).
        if self.bf16:
            x_lo = x.to(torch.bfloat16) if x_low is None else x_low
            w1_low, wo_low = self._low_weights()
            h1 = tanh_(torch.add(x_lo @ w1_low.t(), b1).mul_(2.0))
        else:
            h1 = tanh_(torch.addmm(b1, x, w1.t(), beta=2, alpha=2))
        narrow()
        w_heads = torch.cat((w_mu, w_lv))
        heads = torch.addmm(torch.cat((b_mu, b_lv)), h1, w_heads.t())
        mu, logvar = heads[:, :d], heads[:, d:]
        var = logvar.exp()
        noise = var.sqrt().mul_(eps)
        z = mu + noise
        a2 = torch.addmm(b2, z, w2.t(), beta=2, alpha=2)
        torch.set_num_threads(threads)
        h2 = tanh_(a2)
        if self.bf16:
            h2_low = h2.to(torch.bfloat16)
            logits = torch.add(h2_low @ wo_low.t(), bo)
        else:
            logits = torch.addmm(bo, h2, wo.t())
        mean = torch.sigmoid(logits)
        # dlogits is scaled by 1/B (the batch mean) before anything reads it.
        if self.bernoulli:
            # -log p(x|z) = softplus(l) - x*l ; d/dl = sigmoid(l) - x.
            recon = bernoulli_nll_sum(logits, x, mean) * inv_b
            dlogits = mean.sub_(x).mul_(inv_b)
        else:
            # N(x; sigmoid(l), 1/2): -log p = sum (x - s)^2 + const ; d/dl = 2 (s - x) s (1 - s).
            diff = mean - x
            recon = diff.square().sum(1).sum() * inv_b + _GAUSSIAN_LOG_NORMALISER
            dlogits = diff.mul_(mean).mul_(1.0 - mean).mul_(2.0 * inv_b)
        # KL = -0.5 sum(1 + logvar - mu^2 - var) = 0.5 (|mu|^2 + sum(var - logvar) - B*d).
        kl = (torch.addcmul(var - logvar, mu, mu).sum() - mu.numel()) * (0.5 * inv_b)
        # Backward through the decoder.
        if self.bf16:
            dlogits_low = dlogits.to(torch.bfloat16)
            g_wo.copy_(dlogits_low.t() @ h2_low)
            da2 = _through_tanh(dlogits_low @ wo_low, h2)
        else:
            torch.mm(dlogits.t(), h2, out=g_wo)
            da2 = _through_tanh(torch.mm(dlogits, wo), h2)
        torch.sum(dlogits, 0, out=g_bo)
        narrow()
        # The products with a side of d in the layouts BLAS runs fast.
        g_w2.t().copy_(torch.mm(z.t(), da2))
        torch.sum(da2, 0, out=g_b2)
        dz = torch.mm(da2, w2.t().contiguous().t())
        # Through the reparameterisation and the KL term, both heads at once. beta may be
        # huge: scalar * tensor overflows to inf, where alpha= or value= would raise.
        kl_scale = beta * inv_b
        dheads = torch.empty_like(heads)
        torch.mul(mu, kl_scale, out=dheads[:, :d]).add_(dz)
        torch.addcmul(var.sub_(1.0).mul_(0.5 * kl_scale), dz, noise, value=0.5, out=dheads[:, d:])
        torch.mm(dheads.t(), h1, out=g_heads)
        torch.sum(dheads, 0, out=g_heads_bias)
        da1 = torch.mm(dheads, w_heads)
        torch.set_num_threads(threads)
        da1 = _through_tanh(da1, h1)
        if self.bf16:
            g_w1.copy_(da1.to(torch.bfloat16).t() @ x_lo)
        else:
            torch.mm(da1.t(), x, out=g_w1)
        torch.sum(da1, 0, out=g_b1)
        return recon, kl


class _AdamGroup(NamedTuple):
    params: list[torch.Tensor]
    exp_avg: list[torch.Tensor]
    exp_avg_sq: list[torch.Tensor]
    steps: list[torch.Tensor]
    one_thread: bool


class FusedAdam:
    """Adam with torch's defaults (betas 0.9/0.999, eps 1e-8, no weight decay) through the
    fused kernel called directly: the arithmetic of ``torch.optim.Adam(fused=True)`` bit for
    bit, without its per-step Python bookkeeping (regrouping the tensors by device and dtype,
    casts of the step counts), which costs as long as the kernel itself for this model.
    Every parameter must have a ``.grad`` (the MLP step fills all of them). ``lr`` is read
    from ``param_groups[0]["lr"]`` at each step, as torch's optimizers do."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = list(params)
        self.param_groups: list[dict[str, Any]] = [{"lr": lr}]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        device = self.params[0].device
        # The kernel reads one step count per parameter, all equal. On a CPU they share one
        # tensor (one add per step; a foreach add runs there as one op per tensor); on a GPU
        # each has its own (one foreach kernel increments them all).
        if device.type == "cpu":
            self._counters = [torch.zeros((), dtype=torch.float32)]
            self.steps = self._counters * len(self.params)
        else:
            self.steps = [torch.zeros((), dtype=torch.float32, device=device) for _ in self.params]
            self._counters = self.steps
        # On a CPU the kernel opens a parallel region per tensor: for the biases and the
        # small heads that costs more than their update, so they are updated on one thread
        # and only the tensors large enough to split use all of them (same numbers).
        everything = list(range(len(self.params)))
        large = [i for i in everything if self.params[i].numel() >= _SPLIT_WORTH]
        small = [i for i in everything if i not in large]
        split = device.type == "cpu" and large and small
        self._groups = [
            _AdamGroup(
                [self.params[i] for i in group],
                [self.exp_avg[i] for i in group],
                [self.exp_avg_sq[i] for i in group],
                [self.steps[i] for i in group],
                one_thread,
            )  # fmt: skip
            for group, one_thread in (((large, False), (small, True)) if split else ((everything, False),))
        ]

    @staticmethod
    def supported(device: torch.device) -> bool:
        """Whether this torch has the fused kernel for ``device``."""
        return hasattr(torch, "_fused_adam_") and device.type in ("cpu", "cuda")

    @torch.no_grad()
    def step(self) -> None:
        grads = [[_grad_of(p) for p in g.params] for g in self._groups]
        torch._foreach_add_(self._counters, 1.0)
        lr = float(self.param_groups[0]["lr"])
        threads = torch.get_num_threads()
        for g, group_grads in zip(self._groups, grads, strict=True):
            narrow = g.one_thread and threads > 1
            if narrow:
                torch.set_num_threads(1)
            try:
                torch._fused_adam_(
                    g.params, group_grads, g.exp_avg, g.exp_avg_sq, [], g.steps, lr=lr,
                    beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False,
                    maximize=False,
                )  # fmt: skip
            finally:
                if narrow:
                    torch.set_num_threads(threads)


def _through_tanh(grad: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """grad * tanh'(a) = grad * (1 - h^2), given h = tanh(a): torch's fused kernel (a bf16
    grad comes out float32, as h is)."""
    return torch.ops.aten.tanh_backward(grad, h)


def _one_thread() -> None:
    torch.set_num_threads(1)


def _keep() -> None:
    pass


def _grad_of(p: torch.Tensor) -> torch.Tensor:
    if p.grad is None:
        raise RuntimeError("FusedAdam.step: a parameter has no gradient")
    return p.grad


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, allocated (zeros) if the parameter has none yet."""
    if p.grad is None:
        p.grad = torch.zeros_like(p)
    return p.grad

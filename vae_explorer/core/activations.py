"""The MLPs' hidden-layer activations by name, with tanh through the sigmoid kernel on a CPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F


class _Tanh(torch.autograd.Function):
    """tanh through the sigmoid kernel, with tanh's own backward (read off the output)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        out = tanh_(a.mul(2.0))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, out)


def tanh(a: torch.Tensor) -> torch.Tensor:
    """tanh(a) = 2 sigmoid(2a) - 1 on a CPU, where torch's tanh kernel takes 5-10x as long as
    its sigmoid (0.54 ms against 0.06 ms for a [1000, 500] float32 tensor on a Zen 4);
    within ~1e-7 of torch.tanh, differentiable. torch.tanh elsewhere, and for half-precision
    inputs."""
    if a.device.type != "cpu" or a.dtype not in (torch.float32, torch.float64):
        return torch.tanh(a)  # (in bf16 or fp16 the sigmoid form loses small values)
    if torch.is_grad_enabled() and a.requires_grad:
        return cast(torch.Tensor, _Tanh.apply(a))
    return tanh_(a.mul(2.0))


def tanh_(doubled: torch.Tensor) -> torch.Tensor:
    """tanh(a) in place, given 2a (no autograd): 2 sigmoid(2a) - 1."""
    return doubled.sigmoid_().mul_(2.0).sub_(1.0)


ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
}

"""The products of M2's hand-derived step (:mod:`.m2_step`): the layers' weights side by
side, their bf16 copies, and buffers kept from step to step.

A product whose weight has both sides ``LOW_FROM`` or more takes bf16 operands when the
step asks for bf16 products (as autocast's did), with a float32 result; a smaller one runs
in the networks' dtype on one thread, where BLAS would otherwise split its sums across
threads and their last bits would vary with the count (the job's thread tuner changes it).
A fresh 3 MB tensor pays its page faults again each step, as long as its kernel takes: the
large per-row tensors live in named buffers instead.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from ..training.mlp_step import _SPLIT_WORTH

LOW = torch.bfloat16
LOW_FROM = 32  # a side under this (the classes, a 2-d latent, a few M1 units): full precision


def serially(op: Callable[..., Tensor], t: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """op(t, ...) on one thread: split across threads, a kernel computes the elements at
    the split with its scalar code, not its vector code, so a transcendental function's
    last bit would change with the thread count (and the thread tuner changes it)."""
    with one_thread(t, t.numel() >= _SPLIT_WORTH):
        return op(t, *args, **kwargs)


class Products:
    """``weights``: each product's weight [out, in] by name, set by :meth:`join` each step."""

    def __init__(self, bf16: bool, device: torch.device) -> None:
        self.bf16, self.device = bf16, device
        self.weights: dict[str, Tensor] = {}
        self._buffers: dict[str, Tensor] = {}

    def join(self, layers: dict[str, tuple[list[Tensor], int]]) -> dict[str, Tensor]:
        """Each product's weight from its layers' weights (side by side), given with the
        side that decides whether it takes bf16 operands; copied only where joined or bf16."""
        weights = {}
        for key, (parts, side) in layers.items():
            low = self.bf16 and min(side, parts[0].shape[1]) >= LOW_FROM
            if len(parts) == 1 and not low:
                weights[key] = parts[0]
                continue
            shape = (sum(p.shape[0] for p in parts), parts[0].shape[1])
            joint = self.buffer(f"{key}.w", shape, LOW if low else parts[0].dtype)
            for rows, part in zip(joint.split([p.shape[0] for p in parts]), parts, strict=True):
                rows.copy_(part)
            weights[key] = joint
        return weights

    def buffer(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """A tensor of ``shape`` kept from step to step under ``name`` (contents undefined)."""
        device, size = self.device, math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < size or buf.dtype != dtype or buf.device != device:
            buf = self._buffers[name] = torch.empty(size, dtype=dtype, device=device)
        return buf[:size].view(shape)

    def linear(
        self, key: str, h: Tensor, bias: Tensor | None = None, h_low: Tensor | None = None,
        out: str | None = None,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """h @ W.T (+ bias) in h's dtype (into buffer ``out`` if named), and h's bf16 copy
        when the product takes bf16 operands (``h_low``: that copy, if the caller has it)."""
        weight = self.weights[key]
        shape = (h.shape[0], weight.shape[0])
        result = None if out is None else self.buffer(out, shape, h.dtype)
        if weight.dtype != LOW:
            # A float32 product with a side this small may split its sums across threads in
            # BLAS (their last bits then vary with the count); one thread is as fast.
            with one_thread(weight, min(weight.shape) < LOW_FROM):
                if bias is None:
                    return torch.mm(h, weight.t(), out=result), None
                return torch.addmm(bias, h, weight.t(), out=result), None
        h_low = self.buffer(f"{key}.in", h.shape, LOW).copy_(h) if h_low is None else h_low
        product = torch.mm(h_low, weight.t(), out=self.buffer(f"{out}.low", shape, LOW) if out else None)
        # Widened before the bias: a mixed-dtype add takes ten times as long.
        result = product.to(h.dtype) if result is None else result.copy_(product)
        return (result if bias is None else result.add_(bias)), h_low

    def linear_backward(
        self, key: str, d: Tensor, h: Tensor, h_low: Tensor | None, g_weight: Tensor,
        g_bias: Tensor | None = None, need_input: bool = True, out: str | None = None,
    ) -> Tensor:  # fmt: skip
        """Fills the weight's (and bias's) gradient given d = dloss/d(output); returns
        dloss/dh (into buffer ``out`` if named; an empty tensor when not ``need_input``)."""
        if g_bias is not None:
            torch.sum(d, 0, out=g_bias)
        weight = self.weights[key]
        shape = (d.shape[0], weight.shape[1])
        result = None if out is None or not need_input else self.buffer(out, shape, d.dtype)
        if weight.dtype != LOW:
            with one_thread(weight, min(weight.shape) < LOW_FROM):  # (as in linear)
                torch.mm(d.t(), h, out=g_weight)
                return torch.mm(d, weight, out=result) if need_input else d[:0]
        assert h_low is not None
        d_low = self.buffer(f"{key}.d", d.shape, LOW).copy_(d)
        g_weight.copy_(torch.mm(d_low.t(), h_low, out=self.buffer(f"{key}.g", g_weight.shape, LOW)))
        if not need_input:
            return d[:0]
        product = torch.mm(d_low, weight, out=self.buffer(f"{out}.low", shape, LOW) if out else None)
        return product.to(d.dtype) if result is None else result.copy_(product)


@contextlib.contextmanager
def one_thread(t: Tensor, active: bool) -> Iterator[None]:
    """One thread for an operation on ``t`` (if ``active`` and on the CPU)."""
    threads = torch.get_num_threads()
    if not active or threads == 1 or t.device.type != "cpu":
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

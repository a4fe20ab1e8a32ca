"""BitMoD-engine linear layers: fp16 activations x bit-serial quantized weights
(docs/references.md#bitmod-2).

``linear_bitmod(x, qw)`` rounds x to fp16 and calls ``golden.bitserial.linear(x_fp16, qw)``, the
bit-accurate model of the PE array (owned by the BitMoD-RTL work; its module documents the
datapath and its own error bound against an exact product). ``fp16`` weights (a layer a policy
leaves unquantized) are the fp16 linear of docs/numerics.md, ``h(tree_k(x_k * w_k))``
(:func:`golden.ops.products.fp16_linear`).

``reference(x, w)`` is *not* accelerator arithmetic: the exact product of the fp16 activations and
the dequantized weights rounded once to fp16, the float counterpart the bit-serial engine
approximates. ``golden.llm.accel``'s ``linear="dequant"`` mode uses it as a fast stand-in for
long runs (perplexity), and says so.
"""
from __future__ import annotations

import torch

from .fp16 import np16, tensor, to_fp16
from .products import fp16_linear


def linear_fp16(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The fp16-weight linear (either engine): x [..., K] and w [N, K], both rounded to fp16 ->
    fp16 [..., N] = h(tree_k(x_k * w_k))."""
    return tensor(fp16_linear(np16(x), np16(w)))


def linear_bitmod(x: torch.Tensor, qw) -> torch.Tensor:
    """x [..., K] -> fp16 [..., N]; ``qw`` a golden.quant QuantizedWeight (or its bit-serial
    engine tables) or an fp16 tensor [N, K] (:func:`linear_fp16`)."""
    if isinstance(qw, torch.Tensor):
        return linear_fp16(x, qw)
    from .. import bitserial
    k = x.shape[-1]
    out = bitserial.linear(to_fp16(x).reshape(-1, k), qw)
    return out.reshape(*x.shape[:-1], out.shape[-1])


def reference(x: torch.Tensor, qw) -> torch.Tensor:
    """fp16( fp16(x) · W_dequantized^T ), the product evaluated exactly enough (double
    precision) that only the final rounding matters. Not what any engine computes."""
    k = x.shape[-1]
    w = qw.double() if isinstance(qw, torch.Tensor) else qw.dequantize().double()
    out = to_fp16(to_fp16(x).reshape(-1, k).double() @ w.T)
    return out.reshape(*x.shape[:-1], out.shape[-1])

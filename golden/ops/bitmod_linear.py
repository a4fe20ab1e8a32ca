"""BitMoD-engine linear layers: fp16 activations x bit-serial quantized weights
(docs/references.md#bitmod-2).

``linear_bitmod(x, qw)`` rounds x to fp16 and calls ``golden.bitserial.linear(x_fp16, qw)``, the
bit-accurate model of the PE array (owned by the BitMoD-RTL work; its module documents the
datapath and its own error bound against an exact float64 product). ``fp16`` weights (a layer a
policy leaves unquantized) are multiplied in float32 and rounded to fp16.

``reference(x, qw)`` is the exact product of the fp16 activations and the dequantized weights,
rounded once to fp16: the float counterpart that the engine approximates.
"""
from __future__ import annotations

import torch

from .fp16 import to_fp16


def linear_bitmod(x: torch.Tensor, qw) -> torch.Tensor:
    """x [..., K] -> fp16 [..., N]; ``qw`` a golden.quant QuantizedWeight or an fp16 tensor [N, K]."""
    k = x.shape[-1]
    x16 = to_fp16(x).reshape(-1, k)
    if isinstance(qw, torch.Tensor):
        out = to_fp16(x16.float() @ qw.float().T)
    else:
        from .. import bitserial
        out = bitserial.linear(x16, qw)
    return out.reshape(*x.shape[:-1], out.shape[-1])


def reference(x: torch.Tensor, qw) -> torch.Tensor:
    """fp16( fp16(x) · W_dequantized^T ) evaluated in float64."""
    k = x.shape[-1]
    w = qw.double() if isinstance(qw, torch.Tensor) else qw.dequantize().double()
    out = to_fp16(to_fp16(x).reshape(-1, k).double() @ w.T)
    return out.reshape(*x.shape[:-1], out.shape[-1])

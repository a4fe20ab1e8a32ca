"""FlightLLM linear layers: per-token INT8 activations x INT weights, INT32 accumulation,
requantization to fp16 (docs/references.md#flightllm-3.5: INT8 activations, INT4/INT8 weights, INT32
bias/acc).

Dense weights are a golden.quant ``int_sym`` QuantizedWeight (integer levels L, one real scale per
row and group of G input channels). For token t, output row n and group g:
    acc[t, n, g] = sum_{k in g} q[t, k] * L[n, k]                 (exact INT32)
    y[t, n]      = fp16( s_x[t] * sum_g scale[n, g] * acc[t, n, g] )   (requantize)
N:M sparse weights are a golden.sparse NMSparse with INT values and per-row scales; the INT32
accumulation is ``golden.sparse.matmul`` (the CSD chain's gather by 4-bit index).

Requantization is evaluated in float64 and rounded once to fp16. With per-row scales (one group)
it is exact before that rounding (acc < 2^31, fp16 scale 11 bits, float32 s_x 24 bits: 66 bits
can round once in float64, 2^-53 relative, far below fp16's 2^-11).

Bound against the float product with the same (dequantized) weights, x·W^T, derived from the INT8
activation bound e_x = s_x (1/2 + 2^-15) (act_int8): the integer part is exact, so
    |y - x·W^T| <= e_x * sum_k |W[n, k]| + 2^-11 |x·W^T| + 2^-11 e_x sum_k |W[n,k]| + 2^-25
(the last two terms: fp16 output rounding of the perturbed value). ``bound(x, w)`` evaluates it.
"""
from __future__ import annotations

import numpy as np
import torch

from .act_int8 import error_bound, quantize_per_token
from .fp16 import EPS16, SUB16

INT32_MAX = (1 << 31) - 1


def integer_levels(qw) -> np.ndarray:
    """int64 [N, K] integer weight levels of an int_sym QuantizedWeight (scale 1 per level)."""
    from .. import formats
    if qw.scheme != "int_sym":
        raise ValueError(f"weight: the INT engine needs scheme int_sym, got {qw.scheme}")
    fmt = formats.get(qw.formats[0])
    return np.rint(fmt.decode(qw.codes) * fmt.unit).astype(np.int64)


def requantize(acc: torch.Tensor, x_scale: torch.Tensor, w_scale: torch.Tensor) -> torch.Tensor:
    """acc [T, N, G] (exact integers), x_scale [T, 1], w_scale [N, G] -> fp16 [T, N]."""
    y = (acc.double() * w_scale.double()[None]).sum(-1) * x_scale.double()
    return y.to(torch.float16)


def _check_acc(acc: torch.Tensor) -> None:
    if acc.numel() and float(acc.abs().max()) > INT32_MAX:
        raise ValueError("x: a dot product overflows the INT32 accumulator")


def int_linear(x: torch.Tensor, qw) -> torch.Tensor:
    """x [..., K] (float) -> fp16 [..., N] for a dense int_sym QuantizedWeight ``qw``."""
    n, k = qw.shape
    lead = x.shape[:-1]
    q, sx = quantize_per_token(x.reshape(-1, k))
    g = qw.group_size
    levels = torch.from_numpy(integer_levels(qw)).double().view(n, k // g, g)
    # Integers below 2^53 are exact in float64, so this BLAS product is the INT32 sum itself.
    acc = torch.einsum("tgk,ngk->tng", q.double().view(-1, k // g, g), levels)
    _check_acc(acc)
    scales = torch.from_numpy(np.array(qw.scales, dtype=np.float32))
    return requantize(acc, sx, scales).reshape(*lead, n)


def sparse_linear(x: torch.Tensor, spq) -> torch.Tensor:
    """x [..., K] (float) -> fp16 [..., N] for an INT NMSparse with per-row scales."""
    from .. import sparse
    n, k = spq.shape
    lead = x.shape[:-1]
    q, sx = quantize_per_token(x.reshape(-1, k))
    acc = torch.from_numpy(sparse.matmul(spq, q.numpy()).astype(np.int64))[..., None]
    scales = torch.from_numpy(np.array(spq.scales, dtype=np.float32))[:, None]
    return requantize(acc, sx, scales).reshape(*lead, n)


def bound(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Elementwise bound of the module docstring; ``w`` the dequantized weight [N, K]."""
    _, sx = quantize_per_token(x.reshape(-1, x.shape[-1]))
    ex = error_bound(sx).double()
    wsum = w.double().abs().sum(-1)[None, :]
    ref = x.reshape(-1, x.shape[-1]).double() @ w.double().T
    return ((ex * wsum) * (1 + EPS16) + EPS16 * ref.abs() + SUB16).reshape(*x.shape[:-1], -1)

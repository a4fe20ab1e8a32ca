"""Derived error bound of the FlightLLM linears (:mod:`.int_matmul`) against the float product
with the same (dequantized) weights, x·W^T (a reference helper: float64, never executed by an
engine).

The activations are rounded to fp16 and REQUANTized: per token |x_k - q_k s_x| <= e_x =
s_x (1/2 + 2^-15) + 2^-11 max|x| + 2^-25 (REQUANT of the fp16 value, ``act_int8``, plus the fp16
rounding). The integer accumulation is exact, so the quantized product differs from x·W^T by at
most e_x Σ_k |W[n, k]|. The requantization ``h(tree_g(f(acc_g) w_g) s_x)`` rounds f(acc) (only
above 2^24), each group product, ceil(log2 G) tree levels and the product with s_x: at most
γ_{L+3} = (1 + 2^-24)^(L+3) - 1 relative to Σ_k |q_k s_x| |W[n, k]| <= (|x| + e_x)·|W|^T, then
the fp16 rounding 2^-11 |y| + 2^-25.
"""
from __future__ import annotations

import torch

from .act_int8 import quantize_per_token
from .fp16 import to_fp16
from .sfu_bounds import EPS16, SUB16, gamma, requant_bound


def bound(x: torch.Tensor, w: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Elementwise bound for x [T, K] and the dequantized weight w [N, K] in ``groups`` groups
    along K."""
    x2 = x.reshape(-1, x.shape[-1])
    _, sx = quantize_per_token(to_fp16(x2))
    xd = x2.double()
    ex = torch.from_numpy(requant_bound(sx.numpy())) + EPS16 * xd.abs().amax(-1, keepdim=True) \
        + SUB16
    wd = w.double()
    ref = xd @ wd.T
    mag = (xd.abs() + ex) @ wd.abs().T
    err = ex * wd.abs().sum(-1)[None, :] + float(gamma(max(groups - 1, 0).bit_length() + 3)) * mag
    return (err + EPS16 * (ref.abs() + err) + SUB16).reshape(*x.shape[:-1], -1)

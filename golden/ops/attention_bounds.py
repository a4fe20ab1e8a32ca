"""Derived error bounds of :mod:`.attention` against exact float64 attention on the same inputs
(reference helpers: float64, never executed by an engine).

Notation per query row: s the exact scores, p = softmax(s) over the visible keys, out = p·v. The
engines compute scores s' = s + Δs; softmax is shift-invariant, so with E = max_t |Δs_t| over
the visible keys, the exact softmax of s' lies within p_t e^{±2E}: |p'_t - p_t| <= p_t (e^{2E} -
1). The SOFTMAX op then adds its own relative error ρ_t (``sfu_bounds.softmax_relative``, taken
at the distances |s_t - max s| + 2E) and the fp16 rounding; p16_t is bounded by p_t e^{2E}
(1 + ρ_t) (1 + 2^-11) + 2^-25 from above and by p_t e^{-2E} (1 - ρ_t) (1 - 2^-11) - 2^-25
from below. The output error is Σ_t |p16_t - p_t| |v_t| plus the P·V errors
listed per engine, plus the final fp16 rounding 2^-11 |out| + 2^-25.

fp16: Δs = the score rounding 2^-11 |s'| + 2^-25, the tree's ceil(log2 d) binary32 roundings of
the dot (bounded by (d + 2) 2^-24 Σ_j |q_j k_j| / sqrt(d), valid for any order) and c(d) =
1/sqrt(d) (1 + 2u) with its product (one more u); P·V in binary32 adds (T + 2) 2^-24 Σ_t p16_t
|v_t| (the tree rounds ceil(log2 T) <= T times along any path). The inputs are rounded to fp16
first; the reference uses those rounded values.
int8: q, k, v are rounded to fp16 and REQUANTized; with e_x = s_x (1/2 + 2^-15) + 2^-11 max|x| +
2^-25 per row (REQUANT of the fp16 value plus the fp16 rounding), the dequantized dot product is
off by Σ_j (|q_j| e_k + e_q |k_j| + e_q e_k) / sqrt(d); the scaling ((f(acc) s_q) s_k) c adds
five u-roundings (c included) and the fp16 rounding. The P·V step adds Σ_t p16_t e_v[t] (V
quantization), e_p Σ_t |v8_t| (REQUANT of u = p16 s_v, e_p its bound) and 3 u Σ_t p16_t |v_t|
(the fold, f(acc) when acc > 2^24, and the product with s_p).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .act_int8 import quantize_per_token
from .fp16 import to_fp16
from .sfu_bounds import EPS16, SUB16, U, requant_bound, softmax_relative


def _softmax_part(s: torch.Tensor, ds: torch.Tensor, mask: torch.Tensor):
    """(exact p, bound of |p16 - p|) for exact scores s and score errors ds (float64)."""
    vis = mask.numpy().astype(bool)
    s_np, ds_np = s.numpy(), ds.numpy()
    e = np.where(vis, ds_np, 0).max(-1, keepdims=True)
    m = np.where(vis, s_np, -np.inf).max(-1, keepdims=True)
    dist = np.where(vis, s_np - np.where(np.isfinite(m), m, 0), 0) - 2 * e
    p, rho, flush = softmax_relative(np.minimum(dist, 0), vis)
    grow = np.exp(2 * e)
    high = p * grow * (1 + rho) * (1 + EPS16) + SUB16 + flush
    low = p / grow * (1 - rho) * (1 - EPS16) - SUB16 - flush
    dp = np.maximum(high - p, p - low)
    return torch.from_numpy(p), torch.from_numpy(np.where(vis, dp, 0))


def attention_fp16_bound(q, k, v, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """(exact float64 output on the fp16-rounded inputs, elementwise bound)."""
    q, k, v = (to_fp16(t).double() for t in (q, k, v))
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    dots = q.abs() @ k.abs().transpose(-1, -2) / math.sqrt(d)
    dot_err = (d + 2) * U * dots + 3 * U * (s.abs() + (d + 2) * U * dots)
    ds = dot_err + EPS16 * (s.abs() + dot_err) + SUB16
    p, dp = _softmax_part(s, ds, mask)
    out = p @ v
    t = mask.sum(-1, keepdim=True).double()
    err = dp @ v.abs() + (t + 2) * U * ((p + dp) @ v.abs())
    return out, err * (1 + EPS16) + EPS16 * out.abs() + SUB16


def _int8_error(x: torch.Tensor) -> torch.Tensor:
    """Per row: REQUANT error of the fp16-rounded x plus the fp16 rounding of x (float64)."""
    _, s = quantize_per_token(to_fp16(x))
    req = torch.from_numpy(requant_bound(s.numpy()))
    return req + EPS16 * x.double().abs().amax(-1, keepdim=True) + SUB16


def attention_int8_bound(q, k, v, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """(exact float64 output on the given inputs, elementwise bound) of
    ``attention_int8(q, kv_int8(k), kv_int8(v), mask)``."""
    eq, ek, ev = (_int8_error(t) for t in (q, k, v))
    q, k, v = (t.double() for t in (q, k, v))
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    ds = (q.abs().sum(-1, keepdim=True) * ek.transpose(-1, -2)
          + eq * k.abs().sum(-1, keepdim=True).transpose(-1, -2)
          + d * eq * ek.transpose(-1, -2)) / math.sqrt(d)
    ds = ds + (EPS16 + 5 * U) * (s.abs() + ds) + SUB16
    p, dp = _softmax_part(s, ds, mask)
    out = p @ v
    p16 = p + dp
    v8, sv = quantize_per_token(to_fp16(v))
    u_max = (p16 * sv.double().transpose(-1, -2)).amax(-1, keepdim=True)
    ep = u_max / 127 * (0.5 + 2.0 ** -15) * (1 + 2.0 ** -20)
    err = (dp @ v.abs() + p16 @ ev + ep * v8.double().abs().sum(-2, keepdim=True)
           + 3 * U * (p16 @ v.abs()))
    return out, err * (1 + EPS16) + EPS16 * out.abs() + SUB16

"""Derived error bounds of :mod:`.attention` against exact float64 attention on the same inputs.

Notation per query row: s the exact scores, p = softmax(s), out = p·v. The engines compute
scores s' = s + Δs; softmax is shift-invariant, so with E = max_t |Δs_t| over the visible keys,
p'_t = p_t exp(Δs_t) / Σ p_j exp(Δs_j) lies within p_t e^{±2E}: |p'_t - p_t| <= p_t (e^{2E} - 1).
The fp16 softmax adds (2^-11 + (T + 12) 2^-24) p'_t + 2^-25 (ops.fp16 bound). Then the output
error is Σ_t |p16_t - p_t| |v_t| plus the errors of the P·V step listed per engine, plus the
final fp16 rounding 2^-11 |out| + 2^-25.

fp16: Δs = score rounding 2^-11 |s| + float32 dot error (d + 2) 2^-24 Σ_j |q_j k_j| / sqrt(d)
+ 2^-25; P·V in float32 adds (T + 2) 2^-24 Σ_t p16_t |v_t|. These are the sequential-sum bounds;
the engines' adder tree (``attention.sum_fp32``) rounds ceil(log2 n) <= n - 1 times along any
path, so they hold for it too (kept sequential: valid for any summation order).
int8: with e_q, e_k, e_v the INT8 bounds of q, k, v (act_int8), the dequantized dot product is
off by Σ_j (|q_j| e_k + e_q |k_j| + e_q e_k) / sqrt(d), plus 2^-11 |s| + 2^-25 rounding; the P·V
step adds Σ_t p16_t e_v[t] (V quantization), e_p Σ_t |v8_t| (INT8 of u = p16 · s_v, e_p its bound)
and 2^-24 Σ_t p16_t |v_t| (the float32 fold).
"""
from __future__ import annotations

import math

import torch

from .act_int8 import error_bound, quantize_per_token
from .fp16 import EPS16, EPS32, SUB16, to_fp16


def _softmax_part(s: torch.Tensor, ds: torch.Tensor, mask: torch.Tensor):
    s = s.masked_fill(~mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    e = ds.masked_fill(~mask, 0).amax(-1, keepdim=True)
    t = mask.sum(-1, keepdim=True).double()
    dp = p * torch.expm1(2 * e) + (EPS16 + (t + 12) * EPS32) * p * torch.exp(2 * e) + SUB16
    return p, dp.masked_fill(~mask, 0)


def attention_fp16_bound(q, k, v, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """(exact float64 output on the fp16-rounded inputs, elementwise bound)."""
    q, k, v = (to_fp16(t).double() for t in (q, k, v))
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    dots = q.abs() @ k.abs().transpose(-1, -2) / math.sqrt(d)
    ds = EPS16 * s.abs() + (d + 2) * EPS32 * dots * (1 + EPS16) + SUB16
    p, dp = _softmax_part(s, ds, mask)
    out = p @ v
    t = mask.sum(-1, keepdim=True).double()
    err = dp @ v.abs() + (t + 2) * EPS32 * ((p + dp) @ v.abs())
    return out, err * (1 + EPS16) + EPS16 * out.abs() + SUB16


def attention_int8_bound(q, k, v, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """(exact float64 output on the given inputs, elementwise bound)."""
    q, k, v = (t.double() for t in (q, k, v))
    d = q.shape[-1]
    eq, ek, ev = (error_bound(quantize_per_token(t)[1]).double() for t in (q, k, v))
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    ds = (q.abs().sum(-1, keepdim=True) * ek.transpose(-1, -2)
          + eq * k.abs().sum(-1, keepdim=True).transpose(-1, -2)
          + d * eq * ek.transpose(-1, -2)) / math.sqrt(d)
    ds = ds + EPS16 * (s.abs() + ds) + SUB16
    p, dp = _softmax_part(s, ds, mask)
    out = p @ v
    p16 = p + dp
    v8, sv = quantize_per_token(v)
    u_max = (p16 * sv.transpose(-1, -2)).amax(-1, keepdim=True)
    ep = u_max / 127 * (0.5 + 2.0 ** -15) * (1 + 2.0 ** -20)
    err = (dp @ v.abs() + p16 @ ev + ep * v8.double().abs().sum(-2, keepdim=True)
           + EPS32 * (p16 @ v.abs()))
    return out, err * (1 + EPS16) + EPS16 * out.abs() + SUB16

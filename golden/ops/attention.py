"""Attention as the engines compute it, and the int8 KV cache.

Shapes: q [B, H, S, d], k and v [B, H, T, d] (GQA already expanded), mask bool [S, T] (True =
visible). Each function returns fp16 [B, H, S, d]. Bounds against exact float64 attention on the
same inputs are in :mod:`.attention_bounds` (derivations there).

The two products are golden functions of their own, with a defined summation order, so every
tool computes them identically whatever the row (token) tiling: the ISA simulator calls them on
each MM/MV tile, the golden LLM on the whole sequence, and the results agree bit for bit.

fp16 (BitMoD engine vector unit): :func:`score_fp16` = fp16(tree((q·k) over head_dim) / sqrt(d)),
softmax_fp16, :func:`value_fp16` = fp16(tree((p·v) over tokens)). ``tree`` is the engine's fp32
adder tree (:func:`sum_fp32`): the fp16 x fp16 products are exact in float32, the reduction pads
to a power of two with +0 and adds adjacent pairs level by level, each addition rounded to
float32. Every output element depends only on its own row of A and column of B, so a row tile of
any size (7 tokens in tiles of 4, 33 in tiles of 16) reproduces the whole product exactly.

int8 (FlightLLM, docs/references.md#flightllm-3.5: all IR tensors int8, softmax fp16 in the SFU):
  q8, k8, v8 per-token (per head vector) INT8; :func:`score_int8` = fp16(INT32(q8·k8) * s_q * s_k
  / sqrt(d)); p = softmax_fp16(scores); :func:`value_int8`: the per-token V scale is folded into
  the probabilities (u[t] = p[t] * s_v[t], float32) because the P·V sum runs over tokens whose V
  scales differ; u is quantized per row to INT8 (p8, s_p); out = fp16(INT32(p8·v8) * s_p). The
  INT32 sums are exact (any order gives the same integer), the scaling is element-wise.
"""
from __future__ import annotations

import math

import torch

from .act_int8 import dequantize_per_token, quantize_per_token
from .fp16 import softmax_fp16, to_fp16


def kv_int8(t: torch.Tensor) -> torch.Tensor:
    """How the int8 KV cache holds K or V [B, H, T, d]: per token and head symmetric INT8. Returns
    the represented values (q * s, float32); re-quantizing them gives back the same codes."""
    return dequantize_per_token(*quantize_per_token(t))


def _masked(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return scores.masked_fill(~mask, float("-inf"))


_CHUNK = 1 << 22          # float32 products held at once (row chunks; results do not change)


def sum_fp32(x: torch.Tensor) -> torch.Tensor:
    """Sum over the last dim as the fp32 adder tree does: pad the length n to the next power of
    two with +0.0, then add adjacent pairs (0+1, 2+3, ...) level by level in float32. An empty
    sum is +0. Error: ceil(log2 n) float32 roundings along any path, <= ceil(log2 n) 2^-24
    sum |x| (first order), below the sequential (n - 1) 2^-24 the bounds assume."""
    return _tree(x.float().movedim(-1, 0))


def _tree(x: torch.Tensor) -> torch.Tensor:
    """:func:`sum_fp32` over dim 0 (the leading dim keeps every level's adds contiguous)."""
    n = x.shape[0]
    width = 1 << max(n - 1, 0).bit_length()
    if width != n:
        x = torch.cat((x, x.new_zeros(width - n, *x.shape[1:])))
    while x.shape[0] > 1:
        x = x[0::2] + x[1::2]
    return x[0]


def _rowwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """tree sum over the last dim of a[..., i, None, :] * b[..., None, j, :] -> [..., i, j],
    computed in row chunks of a (each element depends only on its own row and column)."""
    a, b = a.float().movedim(-1, 0), b.float().movedim(-1, 0)       # [d, ..., rows]
    shape = torch.broadcast_shapes(a.shape[1:-1], b.shape[1:-1])
    per_row = max(1, b.shape[0] * b.shape[-1] * math.prod(shape))
    step = max(1, _CHUNK // per_row)
    rows = [_tree(a[..., r:r + step, None] * b[..., None, :])
            for r in range(0, a.shape[-1], step)]
    return torch.cat(rows, dim=-2) if rows else a.new_zeros(*shape, 0, b.shape[-1])


def score_fp16(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Scores [..., S, T] = fp16(sum_fp32(q_s * k_t over head_dim) / sqrt(head_dim)) from fp16
    q [..., S, d] and k [..., T, d] (inputs rounded to fp16 first)."""
    d = q.shape[-1]
    return to_fp16(_rowwise(to_fp16(q), to_fp16(k)) / math.sqrt(d))


def value_fp16(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Output [..., S, d] = fp16(sum_fp32(p_t * v_t over tokens t)) from fp16 probabilities
    p [..., S, T] and values v [..., T, d]."""
    return to_fp16(_rowwise(to_fp16(p), to_fp16(v).transpose(-1, -2)))


def _int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer product of int8 tensors (float64 is exact below 2^53: |sum| <= 127^2 K)."""
    return torch.matmul(a.double(), b.double())


def score_int8(q8: torch.Tensor, sq: torch.Tensor, k8: torch.Tensor,
               sk: torch.Tensor) -> torch.Tensor:
    """Scores [..., S, T] = fp16(INT32(q8·k8) * s_q * s_k / sqrt(d)) from INT8 codes q8
    [..., S, d], k8 [..., T, d] and their float32 per-row scales [..., S, 1], [..., T, 1]."""
    acc = _int_matmul(q8, k8.transpose(-1, -2))
    return to_fp16(acc * sq.double() * sk.double().transpose(-1, -2) / math.sqrt(q8.shape[-1]))


def value_int8(p: torch.Tensor, v8: torch.Tensor, sv: torch.Tensor) -> torch.Tensor:
    """Output [..., S, d] from fp16 probabilities p [..., S, T] and INT8 values v8 [..., T, d]
    with float32 scales sv [..., T, 1]: fold u = p * s_v (float32), quantize u per row (p8, s_p),
    fp16(INT32(p8·v8) * s_p)."""
    u = p.float() * sv.transpose(-1, -2)
    p8, sp = quantize_per_token(u)
    return to_fp16(_int_matmul(p8, v8) * sp.double())


def attention_fp16(q, k, v, mask) -> torch.Tensor:
    p = softmax_fp16(_masked(score_fp16(q, k).float(), mask))
    return value_fp16(p, v)


def attention_int8(q, k, v, mask) -> torch.Tensor:
    q8, sq = quantize_per_token(q)
    k8, sk = quantize_per_token(k)
    v8, sv = quantize_per_token(v)
    p = softmax_fp16(_masked(score_int8(q8, sq, k8, sk).float(), mask))
    return value_int8(p, v8, sv)

"""Attention as the engines compute it, and the int8 KV cache.

Shapes: q [B, H, S, d], k and v [B, H, T, d] (GQA already expanded), mask bool [S, T] (True =
visible). Each function returns fp16 [B, H, S, d]. Bounds against exact float64 attention on the
same inputs are in :mod:`.attention_bounds` (derivations there).

fp16 (BitMoD engine vector unit): scores = fp16((q·k^T) / sqrt(d)) from fp16 q, k in float32;
softmax_fp16; out = fp16(p·v) in float32.

int8 (FlightLLM, flightllm.md §3.5: all IR tensors int8, softmax fp16 in the SFU):
  q8, k8, v8 per-token (per head vector) INT8; scores = fp16(INT32(q8·k8) * s_q * s_k / sqrt(d));
  p = softmax_fp16(scores); the per-token V scale is folded into the probabilities
  (u[t] = p[t] * s_v[t], float32) because the P·V sum runs over tokens whose V scales differ;
  u is quantized per row to INT8 (p8, s_p); out = fp16(INT32(p8·v8) * s_p).
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


def attention_fp16(q, k, v, mask) -> torch.Tensor:
    d = q.shape[-1]
    s = to_fp16(torch.matmul(to_fp16(q).float(), to_fp16(k).float().transpose(-1, -2))
                / math.sqrt(d))
    p = softmax_fp16(_masked(s.float(), mask))
    return to_fp16(torch.matmul(p.float(), to_fp16(v).float()))


def _int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer product of int8 tensors (float64 is exact below 2^53)."""
    return torch.matmul(a.double(), b.double())


def attention_int8(q, k, v, mask) -> torch.Tensor:
    d = q.shape[-1]
    q8, sq = quantize_per_token(q)
    k8, sk = quantize_per_token(k)
    v8, sv = quantize_per_token(v)
    acc = _int_matmul(q8, k8.transpose(-1, -2))
    s = to_fp16(acc * sq.double() * sk.double().transpose(-1, -2) / math.sqrt(d))
    p = softmax_fp16(_masked(s.float(), mask))
    u = p.float() * sv.transpose(-1, -2)
    p8, sp = quantize_per_token(u)
    return to_fp16(_int_matmul(p8, v8) * sp.double())

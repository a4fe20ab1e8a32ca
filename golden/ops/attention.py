"""Attention as the engines compute it, and the int8 KV cache (docs/numerics.md, "Matrix
products").

Shapes: q [B, H, S, d], k and v [B, H, T, d] (GQA already expanded), mask bool [S, T] (True =
visible). Each function returns fp16 [B, H, S, d]. Bounds against exact float64 attention on the
same inputs are in :mod:`.attention_bounds`.

The products are golden functions of their own with a defined arithmetic per output element, so
every tool computes them identically whatever the row (token) tiling: the ISA simulator calls
them on each MM/MV tile, the golden LLM on the whole sequence, and the results agree bit for bit.

``c(d) = 1 / sqrt(f(d))`` in binary32 (:func:`score_scale`; exactly 1/8 for d = 64).

fp16 (KV cache fp16): :func:`score_fp16` = ``h(tree_j(q_j k_j) * c(d))``, SOFTMAX, then
:func:`value_fp16` = ``h(tree_t(p_t v_t))`` over the valid tokens; fp16 x fp16 products are exact
in binary32 and ``tree`` is the fixed adder tree (:func:`golden.ops.products.tree_matmul`).

int8 (KV cache int8, FlightLLM, docs/references.md#flightllm-3.5: all IR tensors int8, softmax fp16 in the SFU):
the query rows are REQUANTized per head; K and V come from the cache as stored INT8 codes with
their binary32 per-token scales (:func:`kv_int8`, never requantized).
:func:`score_int8` = ``h(((f(acc) * s_q) * s_k) * c(d))``, acc the exact INT32 q8·k8;
:func:`value_int8`: the per-token V scale is folded into the probabilities (``u_t = p_t * s_v[t]``,
binary32) because the P·V sum runs over tokens whose V scales differ; ``(p8, s_p) = REQUANT(u)``;
out = ``h(f(acc) * s_p)``, acc the exact INT32 p8·v8.
"""
from __future__ import annotations

import numpy as np
import torch

from .act_int8 import quantize_per_token
from .binary32 import F32, f, h, quiet
from .fp16 import np16, softmax_fp16, tensor
from .products import int_dot, tree_matmul
from .sfu import requant_rows


def score_scale(d: int) -> np.float32:
    """c(d) = 1 / sqrt(f(d)), binary32."""
    with quiet():
        return F32(1) / np.sqrt(F32(d))


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def score_fp16(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Scores [..., S, T] from fp16 q [..., S, d] and k [..., T, d] (rounded to fp16 first)."""
    c = score_scale(q.shape[-1])
    with quiet():
        return tensor(h(tree_matmul(f(np16(q)), f(np16(k))) * c))


def value_fp16(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Output [..., S, d] from fp16 probabilities p [..., S, T] and values v [..., T, d]."""
    return tensor(h(tree_matmul(f(np16(p)), np.swapaxes(f(np16(v)), -1, -2))))


def score_int8(q8: torch.Tensor, sq: torch.Tensor, k8: torch.Tensor,
               sk: torch.Tensor) -> torch.Tensor:
    """Scores [..., S, T] from INT8 codes q8 [..., S, d], k8 [..., T, d] and their binary32
    per-row scales sq [..., S, 1], sk [..., T, 1]."""
    acc = int_dot(_np(q8), _np(k8))
    c = score_scale(q8.shape[-1])
    sq32, sk32 = _np(sq).astype(F32), np.swapaxes(_np(sk).astype(F32), -1, -2)
    with quiet():
        return tensor(h(((f(acc) * sq32) * sk32) * c))


def value_int8(p: torch.Tensor, v8: torch.Tensor, sv: torch.Tensor) -> torch.Tensor:
    """Output [..., S, d] from fp16 probabilities p [..., S, T], INT8 values v8 [..., T, d] and
    their binary32 scales sv [..., T, 1]."""
    with quiet():
        u = f(np16(p)) * np.swapaxes(_np(sv).astype(F32), -1, -2)
    p8, sp = requant_rows(u)
    acc = int_dot(p8, np.swapaxes(_np(v8), -1, -2))
    with quiet():
        return tensor(h(f(acc) * sp[..., None]))


def kv_int8(t: torch.Tensor) -> torch.Tensor:
    """How the int8 KV cache holds K or V [..., T, d] (rounded to fp16, then REQUANT per token
    and head): float32 [..., T, d + 1] = the d int8 codes, then the binary32 scale (all exact).
    :func:`kv_unpack` splits it; :func:`kv_values` reads it back as ``q * s``."""
    q, s = quantize_per_token(tensor(np16(t)))
    return torch.cat((q.float(), s), dim=-1)


def kv_unpack(stored: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes [..., d], binary32 scales [..., 1]) of a :func:`kv_int8` entry."""
    return stored[..., :-1].to(torch.int8), stored[..., -1:].contiguous()


def kv_values(stored: torch.Tensor) -> torch.Tensor:
    """The values a :func:`kv_int8` entry represents, ``q * s`` in binary32."""
    from .act_int8 import dequantize_per_token
    return dequantize_per_token(*kv_unpack(stored))


def attention_fp16(q, k, v, mask) -> torch.Tensor:
    """fp16 attention: scores, causal SOFTMAX with ``mask`` [S, T], values."""
    return value_fp16(softmax_fp16(score_fp16(q, k), mask), v)


def attention_int8(q, k_stored, v_stored, mask) -> torch.Tensor:
    """INT8 attention with the K/V cache entries of :func:`kv_int8`."""
    q8, sq = quantize_per_token(tensor(np16(q)))
    k8, sk = kv_unpack(k_stored)
    v8, sv = kv_unpack(v_stored)
    p = softmax_fp16(score_int8(q8, sq, k8, sk), mask)
    return value_int8(p, v8, sv)

"""The float32 reference numerics of every op the decoder uses.

A *numerics* object is what :class:`~.model.LlamaModel` calls for each op; swapping it changes how
the same network is computed (see :mod:`.accel` for the accelerator engines). The float numerics
follow Hugging Face's LlamaForCausalLM op for op so that logits agree to float32 round-off.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .rope_scaling import inverse_frequencies


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float, scaling=None):
    """cos/sin of shape [T, head_dim] for the half-split RoPE convention (HF ``rotate_half``).
    ``scaling`` (a :class:`.rope_scaling.Llama3RopeScaling`) rescales the frequencies."""
    if scaling is None:
        exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
        inv_freq = 1.0 / (theta ** exponents)
    else:   # plain floats: constants under torch.export, float64 until the final rounding
        inv_freq = torch.tensor(inverse_frequencies(head_dim, theta, scaling),
                                dtype=torch.float32)
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def causal_mask(q_len: int, k_len: int, device=None) -> torch.Tensor:
    """Boolean [q_len, k_len]: query i (at absolute position k_len - q_len + i) sees keys <= it."""
    offset = k_len - q_len
    q = torch.arange(q_len, device=device)[:, None] + offset
    k = torch.arange(k_len, device=device)[None, :]
    return k <= q


class FloatNumerics:
    """float32 everywhere; the reference that accelerator numerics are measured against."""
    name = "float"

    def embed(self, table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, table)

    def rope_tables(self, positions: torch.Tensor, config):
        """(cos, sin) [T, head_dim] of the positions (accelerator numerics use the host's fp16
        tables instead)."""
        return rope_tables(positions, config.head_dim, config.rope_theta, config.rope_scaling)

    def linear(self, name: str, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight)

    def rmsnorm(self, x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
        var = x.pow(2).mean(-1, keepdim=True)
        return gain * (x * torch.rsqrt(var + eps))

    def rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        return x * cos + rotate_half(x) * sin

    def kv_store(self, t: torch.Tensor) -> torch.Tensor:
        """How K and V are held in the cache (float: unchanged)."""
        return t

    def attention(self, q, k, v, mask) -> torch.Tensor:
        """q [B, H, S, d], k/v [B, H, T, d] (already expanded for GQA), mask bool [S, T]."""
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, v)

    def swiglu(self, gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        return F.silu(gate) * up

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

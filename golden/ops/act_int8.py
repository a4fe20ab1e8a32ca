"""Per-token symmetric INT8 activations (FlightLLM: every IR tensor is int8,
docs/references.md#flightllm-3.5).

For each vector along the last dim: ``scale = max|x| / 127`` (float32; 1.0 for an all-zero
vector), ``q = clamp(round_half_even(x / scale), -127, 127)`` as int8. The code -128 is never
produced, so the grid is symmetric.

Bound (tested): ``|x - q * scale| <= scale * (1/2 + 2^-15)``, the dequantized value computed in
float32. Proof: scale = fl(max|x| / 127) so |x| / scale <= 127 (1 + 2^-23); the clamp therefore
moves no value by more than 127 * 2^-23 steps, rounding to nearest by at most 1/2 step, the
float32 division by 127 * 2^-24 steps and the float32 product q * scale by 127 * 2^-24 steps:
1/2 + 127 * (2^-23 + 2^-24 + 2^-24) < 1/2 + 2^-15.
"""
from __future__ import annotations

import torch

QMAX = 127


def quantize_per_token(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes, float32 scales with a trailing dim of 1)."""
    x32 = x.float()
    absmax = x32.abs().amax(dim=-1, keepdim=True)
    scale = torch.where(absmax > 0, absmax / QMAX, torch.ones_like(absmax))
    q = torch.clamp(torch.round(x32 / scale), -QMAX, QMAX).to(torch.int8)
    return q, scale


def dequantize_per_token(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.float() * scale


def error_bound(scale: torch.Tensor) -> torch.Tensor:
    return scale * (0.5 + 2.0 ** -15)

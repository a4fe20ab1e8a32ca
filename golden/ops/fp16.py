"""fp16 element-wise and reduction ops (the SFU of FlightLLM, docs/references.md#flightllm-3.4; the
vector unit
of the BitMoD engine). Contract of every op: inputs are rounded to fp16, the op is evaluated in
float32 from those fp16 values, and the result is rounded once to fp16 (nearest even).

Error bound against the exact (float64) op on the same fp16 inputs, derived once here:
  output rounding: |fp16(r) - r| <= 2^-11 |r| for normal r, <= 2^-25 (half the smallest fp16
  subnormal step) in the subnormal range;
  float32 evaluation: each float32 operation adds a relative error <= 2^-24, so a length-n
  reduction followed by c further operations is within (n + c) * 2^-24 relative of exact.
So |op_fp16(x) - op(x)| <= (2^-11 + (n + c) 2^-24) |op(x)| + 2^-25, n the reduction length
(1 for element-wise ops), with c = 8. ``bound(ref, n)`` evaluates exactly this.
RoPE additionally rounds its cos/sin tables to fp16 (tables are stored in fp16): that adds
2^-11 (|x| + |rotate_half(x)|) to its bound.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

EPS16 = 2.0 ** -11          # half an fp16 ulp, relative
SUB16 = 2.0 ** -25          # half the fp16 subnormal step
EPS32 = 2.0 ** -24


def to_fp16(x: torch.Tensor) -> torch.Tensor:
    """Round to fp16 (nearest even; overflow to inf as IEEE does)."""
    return x.to(torch.float16)


def bound(ref: torch.Tensor, n: int, c: int = 8) -> torch.Tensor:
    """The error bound of the module docstring for an exact result ``ref`` (float64)."""
    return (EPS16 + (n + c) * EPS32) * ref.abs() + SUB16


def _f32(x: torch.Tensor) -> torch.Tensor:
    return to_fp16(x).float()


def rmsnorm_fp16(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm over the last dim: gain * x / sqrt(mean(x^2) + eps). Bound: n = width + 4."""
    x32 = _f32(x)
    var = x32.pow(2).mean(-1, keepdim=True)
    return to_fp16(_f32(gain) * (x32 * torch.rsqrt(var + eps)))


def softmax_fp16(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim (max-subtracted, two passes as the SFU does). -inf = masked.
    Bound: n = row length + 4."""
    return to_fp16(torch.softmax(_f32(scores), dim=-1))


def swiglu_fp16(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """silu(gate) * up. Bound: n = 1 (exp, add, divide, multiply: c covers them)."""
    return to_fp16(F.silu(_f32(gate)) * _f32(up))


def rope_fp16(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin with fp16 cos/sin tables (half-split convention)."""
    x32 = _f32(x)
    half = x32.shape[-1] // 2
    rot = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)
    return to_fp16(x32 * _f32(cos) + rot * _f32(sin))


def add_fp16(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Residual add. Bound: n = 1."""
    return to_fp16(_f32(a) + _f32(b))

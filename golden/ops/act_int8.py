"""Per-token symmetric INT8 activations: the REQUANT op (FlightLLM: every IR tensor is int8,
docs/references.md#flightllm-3.5; docs/numerics.md, REQUANT).

For each vector along the last dim: ``a = max|x|``, ``s = (a == 0 ? 1 : a / 127)`` (binary32),
``q = clamp(rint(x / s), -127, 127)`` as int8 (:func:`golden.ops.sfu.requant_rows`). The code -128
is never produced, so the grid is symmetric. The represented value is ``q * s`` (binary32).

Bound (tested, ``act_int8_bounds``): ``|x - q * s| <= s * (1/2 + 2^-15)`` with the product in
binary32. Proof: s = fl(a / 127) so |x| / s <= 127 (1 + 2^-23); the quotient x / s is rounded
(127 * 2^-24 steps), rint moves it by at most 1/2 step, the clamp by at most 127 * 2^-23 steps
and the binary32 product q * s by 127 * 2^-24 steps: 1/2 + 127 * (2^-23 + 2^-24 + 2^-24) <
1/2 + 2^-15.
"""
from __future__ import annotations

import numpy as np
import torch

from .binary32 import f
from .sfu import QMAX, requant_rows

__all__ = ["QMAX", "dequantize_per_token", "quantize_per_token"]


def _rows(x: torch.Tensor) -> np.ndarray:
    """fp16 stays fp16 (the MISC REQUANT input); anything else is binary32 (a folded product)."""
    if x.dtype == torch.float16:
        return x.detach().cpu().numpy()
    return x.detach().cpu().float().numpy()


def quantize_per_token(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes, binary32 scales with a trailing dim of 1) of REQUANT along the last dim."""
    q, s = requant_rows(_rows(x))
    return torch.from_numpy(q), torch.from_numpy(s[..., None])


def dequantize_per_token(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``q * s`` in binary32 (how an INT8 value is read back)."""
    with np.errstate(all="ignore"):
        return torch.from_numpy(f(q.numpy()) * scale.float().numpy())

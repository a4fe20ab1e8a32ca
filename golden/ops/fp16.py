"""Torch-facing SFU ops of the golden LLM (FlightLLM's SFU, docs/references.md#flightllm-3.4; the BitMoD
engine's vector unit): tensors in, fp16 tensors out, computed by the row functions of
:mod:`.sfu` (docs/numerics.md). Inputs are rounded to fp16 first (:func:`to_fp16`); the last
dim is the row. Bounds against float64 are in :mod:`.sfu_bounds`.
"""
from __future__ import annotations

import numpy as np
import torch

from . import sfu
from .binary32 import h


def to_fp16(x: torch.Tensor) -> torch.Tensor:
    """Round to fp16: nearest even, overflow to inf, subnormals kept, NaN canonical. float64
    input is rounded once (numpy's direct double -> half), never through float32."""
    if x.dtype == torch.float16:
        return x
    if x.dtype == torch.float64:
        a = h16_from_double(x.detach().cpu().numpy())
    else:
        a = h(x.detach().cpu().float().numpy())
    return torch.from_numpy(a)


def h16_from_double(a: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = a.astype(np.float16)
    out.view(np.uint16)[np.isnan(out)] = 0x7E00
    return out


def np16(x: torch.Tensor) -> np.ndarray:
    """A tensor as an fp16 numpy array (rounded to fp16 first)."""
    return np.ascontiguousarray(to_fp16(x).numpy())


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def rmsnorm_fp16(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNORM over the last dim (``sfu.rmsnorm_rows``; eps rounded to binary32)."""
    return tensor(sfu.rmsnorm_rows(np16(x), np16(gain), eps))


def softmax_fp16(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """SOFTMAX over the last dim; ``mask`` bool broadcastable to scores (True = visible; None =
    every column). Masked columns and rows without a visible column give +0."""
    vis = True if mask is None else mask.detach().cpu().numpy().astype(bool)
    return tensor(sfu.softmax_rows(np16(scores), vis))


def swiglu_fp16(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """SWIGLU: silu(gate) * up, rounded once."""
    return tensor(sfu.swiglu_rows(np16(gate), np16(up)))


def silu_fp16(x: torch.Tensor) -> torch.Tensor:
    return tensor(sfu.silu_rows(np16(x)))


def mul_fp16(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return tensor(sfu.mul_rows(np16(a), np16(b)))


def add_fp16(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Residual add."""
    return tensor(sfu.add_rows(np16(a), np16(b)))


def rope_fp16(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """ROPE of x [..., T, d] (one head per last-dim row) with the fp16 table rows [T, d] (the
    d/2 cosines, then the d/2 sines of each position; ``golden.ops.rope_table``)."""
    d = x.shape[-1]
    return tensor(sfu.rope_rows(np16(x), np16(table), d))

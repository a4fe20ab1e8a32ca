"""Quantization error statistics of a QuantizedWeight against its float original."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .qweight import QuantizedWeight


@dataclass(frozen=True)
class ErrorStats:
    mse: float
    max_abs: float
    snr_db: float                         # 10 log10(sum w^2 / sum (w - deq)^2); inf if exact
    bits_per_weight: float
    datatypes: dict[str, tuple[float, float]]   # format -> (share of groups, MSE of its groups)


def error_stats(weight: torch.Tensor, qw: QuantizedWeight) -> ErrorStats:
    """Errors in float64 of ``qw.dequantize()`` against ``weight``."""
    w = weight.detach().double().numpy()
    err = w - qw.dequantize().double().numpy()
    sq = err * err
    noise, signal = float(sq.sum()), float((w * w).sum())
    snr = math.inf if noise == 0 else (10 * math.log10(signal / noise) if signal else -math.inf)
    g = np.arange(w.shape[1]) // qw.group_size
    per_elem = qw.dtype_ids[:, g]
    datatypes = {}
    for i, name in enumerate(qw.formats):
        share = float(np.mean(qw.dtype_ids == i))
        sel = per_elem == i
        datatypes[name] = (share, float(sq[sel].mean()) if sel.any() else 0.0)
    return ErrorStats(float(sq.mean()), float(np.abs(err).max()), snr, qw.bits_per_weight,
                      datatypes)

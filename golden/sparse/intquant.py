"""Integer values for N:M matrices: per-row symmetric quantization of the kept weights.

For each output row r: ``scale[r] = max |kept value| / qmax`` rounded to float32 (1.0 for an
all-zero row), with ``qmax = 2^(bits-1) - 1`` (127 for INT8, 7 for INT4; the code -2^(bits-1) is
not produced, so the grid is symmetric, although the packed 4/8-bit fields can hold it). Then
``q = clip(round_half_even(value / scale[r]), -qmax, qmax)``. The sparsity structure is kept
unchanged: a kept weight that rounds to 0 stays a kept pair with value 0.

Error bound (tested): ``|value - q * scale[r]| <= scale[r] / 2`` up to the float32 rounding of
``scale``, because the largest magnitude maps to exactly qmax (within one float32 ulp) and every
other value lies inside the grid's range.
"""
from __future__ import annotations

import numpy as np

from .nmsparse import INT_BITS, NMSparse


def quantize_int(sp: NMSparse, bits: int) -> NMSparse:
    """A copy of float ``sp`` with INT``bits`` values and per-row float32 scales."""
    if bits not in INT_BITS:
        raise ValueError(f"bits: must be 4 or 8, got {bits!r}")
    if sp.bits is not None:
        raise ValueError(f"sp: already holds INT{sp.bits} values")
    qmax = (1 << (bits - 1)) - 1
    vals = sp.values.astype(np.float64)
    absmax = np.abs(vals).reshape(vals.shape[0], -1).max(axis=1) if vals.size else np.zeros(0)
    scales = np.where(absmax > 0, absmax / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(vals / scales.astype(np.float64)[:, None, None]), -qmax, qmax)
    return NMSparse(values=q.astype(np.int8), indices=sp.indices, block_n=sp.block_n, m=sp.m,
                    block=sp.block, bits=bits, scales=scales)

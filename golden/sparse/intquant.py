"""Integer values for N:M matrices: ``golden.quant``'s ``int_sym`` with one group per output row.

The kept values are quantized exactly as a dense matrix is for the same engine
(``quant.quantize(w, "int_sym", bits, group_size=K)``, the per-row setting of the FlightLLM
policy), so an N:M matrix with N = M gets the same integers and scales as the dense path, and the
CSD chain's requantization sees fp16 per-row scales either way (``golden.ops.int_matmul`` relies on
an 11-bit scale for its single-rounding argument). Per row r, with ``qmax = 2^(bits-1) - 1``:
``scale[r] = fp16(max |fp16(kept value)| / qmax)`` clamped to [1e-5, 1e4] and
``q = clip(round_half_even(fp16(fp16(value) / scale[r])), -qmax, qmax)``
(docs/references.md#bitmod-1.5
``quant_int``). The padding slots of the container are zeros, which cannot raise a row's absmax,
and stay 0. The sparsity structure is unchanged: a kept weight that rounds to 0 stays a kept pair
with value 0. The code -2^(bits-1) is not produced, although the packed 4/8-bit fields can hold it.

Error bound (tested, as for the dense scheme): ``|value - q * scale| <= scale / 2 + 2^-10 |value|
+ 2^-25 (1 + scale)`` for values inside ``±qmax * scale``: half a step plus the two fp16 roundings
(of the value, and of the quotient).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from .nm_params import INT_BITS

if TYPE_CHECKING:
    from .nmsparse import NMSparse


def quantize_int(sp: NMSparse, bits: int) -> NMSparse:
    """A copy of float ``sp`` with INT``bits`` values and per-row scales (fp16 values, float32)."""
    from .. import formats, quant

    if bits not in INT_BITS:
        raise ValueError(f"bits: must be 4 or 8, got {bits!r}")
    if sp.bits is not None:
        raise ValueError(f"sp: already holds INT{sp.bits} values")
    n_out, k_blocks, m = sp.values.shape
    if n_out * k_blocks == 0:
        q, scales = np.zeros(sp.values.shape, np.int8), np.ones(n_out, np.float32)
    else:
        kept = torch.from_numpy(np.array(sp.values, dtype=np.float32))   # a writable copy
        qw = quant.quantize(kept.reshape(n_out, k_blocks * m), "int_sym", bits,
                            group_size=k_blocks * m)
        levels = formats.get(qw.formats[0]).decode(qw.codes)
        q = levels.reshape(sp.values.shape).astype(np.int8)
        scales = np.ascontiguousarray(qw.scales[:, 0], dtype=np.float32)
    return replace(sp, values=q, bits=bits, scales=scales)

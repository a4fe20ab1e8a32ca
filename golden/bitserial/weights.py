"""A QuantizedWeight as the BitMoD engine consumes it: per-group term tables and integer scales.

Where each scale is applied (docs/rtl/bitmod.md):
* ``scale_mode == "int"`` (BitMoD's two-level scale, docs/references.md#bitmod-1.4): the unsigned
per-group integer
  scale multiplies the finished group sum in the bit-serial dequant unit (one scale bit per cycle);
  the per-row fp16 scale and the format unit (0.5 for fp4 grids) multiply the finished dot product
  once, in the output conversion.
* ``scale_mode == "fp16"``: the per-group fp16 scale is split into its 11-bit significand (the
  dequant unit's integer, 11 cycles) and its exponent (added to the group exponent); the row scale
  is 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import formats
from .params import FP16_BIAS, FP16_FRAC
from .terms import TermTable, term_table

# Smallest exponent a dequantized group can have: an fp16 group scale with exponent field <= 1.
MIN_GROUP_EXP = 1 - FP16_BIAS - FP16_FRAC


@dataclass(frozen=True, eq=False)
class EngineWeight:
    """Everything the datapath needs from a QuantizedWeight, as integers."""
    codes: np.ndarray        # uint8 [N, K] (int16 for formats wider than 8 bits)
    fmt_index: np.ndarray    # int64 [N, K // G]: index into ``tables``
    tables: tuple[TermTable, ...]
    group_size: int
    s_int: np.ndarray        # int64 [N, K // G]: unsigned integer group scale
    s_exp: np.ndarray        # int64 [N, K // G]: exponent added to the group exponent
    scale_bits: int          # dequant cycles per group
    row_scale: np.ndarray    # float64 [N]: exact fp16 values (1.0 in fp16 scale mode)
    unit: float              # real value of one integer weight step (power of two)
    k_in: int                # K of the activations; codes are zero-padded to whole groups
    exp_floor: int           # exponent of zero in the cross-group accumulator (smallest group exp)

    def pad_acts(self, bits: np.ndarray) -> np.ndarray:
        """Activation bit patterns [T, k_in] -> [T, K_padded] with +0.0 in the padding."""
        if bits.shape[1] != self.k_in:
            raise ValueError(f"x_fp16 has K={bits.shape[1]} columns, the weight has K={self.k_in}")
        pad = self.codes.shape[1] - self.k_in
        return np.pad(bits, ((0, 0), (0, pad))) if pad else bits

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.codes.shape)  # type: ignore[return-value]


def _fp16_scale_parts(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(scales, dtype=np.float32).astype(np.float16)
    if np.any(h.astype(np.float32) != scales):
        raise ValueError("QuantizedWeight.scales: fp16 scale mode needs scales that are fp16 values")
    if np.any(h < 0) or not np.all(np.isfinite(h)):
        raise ValueError("QuantizedWeight.scales: scales must be finite and non-negative")
    bits = h.view(np.uint16).astype(np.int64)
    exp, frac = bits >> FP16_FRAC & 0x1F, bits & 0x3FF          # as params.fp16_fields
    sig = np.where(exp > 0, frac | 0x400, frac)
    return sig, np.maximum(exp, 1) - FP16_BIAS - FP16_FRAC


def engine_weight(qw, lanes: int = 4) -> EngineWeight:
    """Validate a golden.quant QuantizedWeight for the engine; ValueError naming what is wrong."""
    if getattr(qw, "zero_points", None) is not None:
        raise ValueError(f"QuantizedWeight scheme '{qw.scheme}': zero points are not supported "
                         "by the bit-serial engine (use a symmetric scheme)")
    tables = tuple(term_table(name) for name in qw.formats)
    units = {float(formats.get(name).unit) for name in qw.formats}
    if len(units) != 1:
        raise ValueError(f"QuantizedWeight formats {qw.formats} mix integer units {units}")
    n, k_in = qw.shape
    g = qw.group_size
    if g % lanes:
        raise ValueError(f"QuantizedWeight: group_size={g} is not a multiple of lanes={lanes}")
    fmt_index = np.asarray(qw.dtype_ids, dtype=np.int64)
    groups = -(-k_in // g)
    if fmt_index.shape != (n, groups) or np.any(fmt_index >= len(tables)):
        raise ValueError("QuantizedWeight.dtype_ids: wrong shape or id beyond qw.formats")
    k = groups * g
    zero = np.array([formats.get(name).encode([0.0])[0] for name in qw.formats], np.int64)
    codes = np.repeat(zero[fmt_index], g, axis=1)   # the padding of a partial last group is 0
    codes[:, :k_in] = np.asarray(qw.codes, dtype=np.int64)
    per_elem = np.repeat(fmt_index, g, axis=1)
    for i, table in enumerate(tables):
        bad = (per_elem == i) & ~table.used[np.clip(codes, 0, len(table.used) - 1)]
        bad |= (per_elem == i) & (codes >= len(table.used))
        if np.any(bad):
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"QuantizedWeight.codes[{r}, {c}] = {codes[r, c]:#x} is not a code "
                             f"of {table.name}")
    # validated codes are < 2**bits: store them narrow (a whole model's codes stay in memory)
    codes = codes.astype(np.uint8 if max(len(t.used) for t in tables) <= 256 else np.int16)
    if qw.scale_mode == "int":
        s_int = np.asarray(qw.int_scales, dtype=np.int64)
        s_exp = np.zeros_like(s_int)
        scale_bits = np.dtype(np.asarray(qw.int_scales).dtype).itemsize * 8
        row = np.asarray(qw.row_scales, dtype=np.float16).astype(np.float64)
        if np.any(row < 0) or not np.all(np.isfinite(row)):
            raise ValueError("QuantizedWeight.row_scales: must be finite and non-negative")
    elif qw.scale_mode == "fp16":
        s_int, s_exp = _fp16_scale_parts(np.asarray(qw.scales))
        scale_bits = FP16_FRAC + 1
        row = np.ones(n)
    else:
        raise ValueError(f"QuantizedWeight.scale_mode '{qw.scale_mode}' is not 'int' or 'fp16'")
    return EngineWeight(codes, fmt_index, tables, g, s_int, s_exp, scale_bits, row,
                        units.pop(), k_in, 0 if qw.scale_mode == "int" else MIN_GROUP_EXP)

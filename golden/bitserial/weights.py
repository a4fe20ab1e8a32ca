"""A QuantizedWeight as the BitMoD engine consumes it: per-group term tables and integer scales.

Where each scale is applied (docs/rtl/bitmod.md):
* ``scale_mode == "int"`` (BitMoD's two-level scale, docs/references.md#bitmod-1.4): the unsigned
per-group integer
  scale multiplies the finished group sum in the bit-serial dequant unit (one scale bit per cycle);
  the per-row fp16 scale and the format unit (0.5 for fp4 grids) multiply the finished dot product
  once, in the output conversion.
* ``scale_mode == "fp16"``: the per-group scale the engine applies is the fp16 scale per
  integer-scaled level, ``scale x unit``, exactly the u16 that golden.quant packs into a tile
  (docs/formats.md), so the format unit is folded into it and the row scale and unit are 1. It is
  split into its 11-bit significand (the dequant unit's integer) and its exponent, added to the
  group exponent: the dequantized group's exponent is signed (MIN_GROUP_EXP .. 5 + 63).

``scale_fields`` and ``row_scale_bits`` are the integers the tile stores and the RTL streams (the
u8 integer scale or the fp16 scale bits; the fp16 row scale bits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import formats
from .params import FP16_BIAS, FP16_FRAC, FP16_SIG_BITS
from .terms import TermTable, term_table

# Smallest exponent a dequantized group can have: an fp16 group scale with exponent field <= 1.
# It is also the exponent of zero in the cross-group accumulator (both scale modes): every non-zero
# dequantized group has a larger one, so zero never moves an alignment.
MIN_GROUP_EXP = 1 - FP16_BIAS - FP16_FRAC
FP16_ONE = 0x3C00


@dataclass(frozen=True, eq=False)
class EngineWeight:
    """Everything the datapath needs from a QuantizedWeight, as integers."""
    codes: np.ndarray        # uint8 [N, K] (int16 for formats wider than 8 bits)
    fmt_index: np.ndarray    # int64 [N, K // G]: index into ``tables``
    tables: tuple[TermTable, ...]
    group_size: int
    s_int: np.ndarray        # int64 [N, K // G]: unsigned integer group scale
    s_exp: np.ndarray        # int64 [N, K // G]: exponent added to the group exponent
    scale_bits: int          # width of s_int (the MSB-first dequant's bits)
    row_scale: np.ndarray    # float64 [N]: exact fp16 values (1.0 in fp16 scale mode)
    unit: float              # real value of one integer weight step (power of two; 1 in fp16 mode)
    k_in: int                # K of the activations; codes are zero-padded to whole groups
    exp_floor: int           # exponent of zero in the cross-group accumulator (MIN_GROUP_EXP)
    scale_mode: str          # "int" or "fp16"
    scale_fields: np.ndarray  # int64 [N, K // G]: the stored group scale (u8 q or fp16 bits)
    row_scale_bits: np.ndarray  # int64 [N]: fp16 bits of row_scale

    @property
    def unit_shift(self) -> int:
        """``unit == 2**-unit_shift``."""
        return -int(np.log2(self.unit))

    def pad_acts(self, bits: np.ndarray) -> np.ndarray:
        """Activation bit patterns [T, k_in] -> [T, K_padded] with +0.0 in the padding."""
        if bits.shape[1] != self.k_in:
            raise ValueError(f"x_fp16 has K={bits.shape[1]} columns, the weight has K={self.k_in}")
        pad = self.codes.shape[1] - self.k_in
        return np.pad(bits, ((0, 0), (0, pad))) if pad else bits

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.codes.shape)  # type: ignore[return-value]


def _fp16_scale_parts(scales: np.ndarray, unit: float) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Real group scales -> (significand, exponent, fp16 bits) of the per-level scale."""
    per_level = np.asarray(scales, dtype=np.float64) * unit
    h = per_level.astype(np.float16)
    if np.any(h.astype(np.float64) != per_level):
        raise ValueError("QuantizedWeight.scales: fp16 scale mode needs scales whose per-level "
                         f"value (scale x unit {unit}, what golden.quant packs) is an fp16 value")
    if np.any(np.signbit(h)) or not np.all(np.isfinite(h)):
        raise ValueError("QuantizedWeight.scales: scales must be finite and non-negative")
    bits = h.view(np.uint16).astype(np.int64)
    exp, frac = bits >> FP16_FRAC & 0x1F, bits & 0x3FF          # as params.fp16_fields
    sig = np.where(exp > 0, frac | 0x400, frac)
    return sig, np.maximum(exp, 1) - FP16_BIAS - FP16_FRAC, bits


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
    unit = units.pop()
    if unit > 1 or 2.0 ** round(np.log2(unit)) != unit:
        raise ValueError(f"QuantizedWeight formats {qw.formats}: unit {unit} is not 2**-k")
    if qw.scale_mode == "int":
        s_int = np.asarray(qw.int_scales, dtype=np.int64)
        s_exp = np.zeros_like(s_int)
        fields = s_int
        scale_bits = np.dtype(np.asarray(qw.int_scales).dtype).itemsize * 8
        row16 = np.asarray(qw.row_scales, dtype=np.float16)
        row = row16.astype(np.float64)
        if np.any(np.signbit(row)) or not np.all(np.isfinite(row)):
            raise ValueError("QuantizedWeight.row_scales: must be finite and non-negative")
        row_bits = row16.view(np.uint16).astype(np.int64)
    elif qw.scale_mode == "fp16":
        s_int, s_exp, fields = _fp16_scale_parts(np.asarray(qw.scales), unit)
        scale_bits = FP16_SIG_BITS
        row, row_bits, unit = np.ones(n), np.full(n, FP16_ONE, np.int64), 1.0
    else:
        raise ValueError(f"QuantizedWeight.scale_mode '{qw.scale_mode}' is not 'int' or 'fp16'")
    return EngineWeight(codes, fmt_index, tables, g, s_int, s_exp, scale_bits, row, unit, k_in,
                        MIN_GROUP_EXP, qw.scale_mode, fields, row_bits)

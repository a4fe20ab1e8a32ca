"""The output conversion: a finished dot product (O, Y) times row scale and unit, to fp16.

``value = O * 2**(Y - lsb_offset) * row_scale * unit`` rounded once to fp16, round to nearest
even, with subnormal results and overflow to inf (IEEE). :func:`finalize` is the integer
algorithm the RTL output unit runs (rtl/bitmod/finalize.py); :func:`finalize_float64` computes
the same number as an exact float64 product and one numpy rounding, the reference the tests hold
the integer form to (tests/golden/test_bitserial_finalize.py), and what the vectorized
``linear`` uses.

Integer algorithm (all quantities bounded, so it is fixed-width hardware):

1. sign = sign(O) XOR sign(row_scale); magnitude ``M = |O| * sig(row_scale)``, an
   ``out_bits`` x 11-bit product (51 bits); the value is ``M * 2**E`` with
   ``E = Y + exp(row_scale) - unit_shift - lsb_offset - 25`` (``unit = 2**-unit_shift``).
2. ``L`` = bit length of M (a leading-one detector); the result's LSB has exponent
   ``q = max(E + L - 11, -24)`` (11 significant bits, or the fixed subnormal LSB 2**-24);
   ``d = q - E`` bits are dropped (d < 0: an exact left shift by at most 10).
3. Round to nearest even on the dropped bits: the half bit (bit d - 1) and the sticky OR of the
   bits below it. A carry out of 11 bits renormalizes (N = 2048 -> 1024, q + 1).
4. Encode: N >= 1024 is normal with exponent field q + 25, otherwise subnormal (field 0);
   a field >= 31 is inf. M == 0 gives a zero with the sign of step 1 (as float64 does).
"""
from __future__ import annotations

import numpy as np

from .params import DEFAULT, FP16_BIAS, FP16_FRAC, FP16_SIG_BITS, Datapath, fp16_fields

FP16_MIN_LSB = 1 - FP16_BIAS - FP16_FRAC      # -24: the LSB exponent of every subnormal
FP16_INF = 0x7C00
SIGN = 0x8000


def product_exponent(exp: int, row_scale_bits: int, unit_shift: int, dp: Datapath) -> int:
    """E of step 1: the value is ``|O| * sig(row_scale) * 2**E``."""
    _, rs_exp, _ = fp16_fields(row_scale_bits)
    return exp + rs_exp - unit_shift - dp.lsb_offset - FP16_BIAS - FP16_FRAC


def round_fp16(negative: int, mag: int, exp: int) -> int:
    """fp16 bit pattern of ``(-1)**negative * mag * 2**exp`` (mag >= 0), RNE (steps 2-4)."""
    sign = SIGN if negative else 0
    if mag == 0:
        return sign
    lsb = max(exp + mag.bit_length() - FP16_SIG_BITS, FP16_MIN_LSB)
    drop = lsb - exp
    if drop <= 0:
        sig = mag << -drop
    else:
        sig = mag >> drop
        half = mag >> (drop - 1) & 1
        sticky = mag & ((1 << (drop - 1)) - 1) != 0
        sig += half & (sticky | sig & 1)
    if sig >> FP16_SIG_BITS:
        sig >>= 1
        lsb += 1
    field = lsb - FP16_MIN_LSB + 1 if sig >> FP16_FRAC else 0
    if field > 30:
        return sign | FP16_INF
    return sign | field << FP16_FRAC | sig & ((1 << FP16_FRAC) - 1)


def finalize(acc: int, exp: int, row_scale_bits: int, unit_shift: int,
             dp: Datapath = DEFAULT) -> int:
    """Output accumulator (O, Y) -> fp16 bit pattern: the hardware's integer algorithm."""
    if not -(1 << dp.out_bits - 1) <= acc < 1 << dp.out_bits - 1:
        raise ValueError(f"output accumulator {acc} does not fit {dp.out_bits} signed bits")
    _, _, rs_sig = fp16_fields(row_scale_bits)
    negative = (acc < 0) ^ (row_scale_bits >> 15 & 1)
    return round_fp16(negative, abs(acc) * rs_sig,
                      product_exponent(exp, row_scale_bits, unit_shift, dp))


def finalize_float64(acc: int, exp: int, row_scale: float, unit: float,
                     dp: Datapath = DEFAULT) -> int:
    """The same as :func:`finalize` as one exact float64 product rounded once by numpy."""
    if abs(acc) >= 1 << 42:
        raise ValueError("output accumulator wider than 42 bits: float64 product not exact")
    value = np.float64(acc) * np.float64(row_scale) * np.float64(unit)
    value = np.ldexp(value, exp - dp.lsb_offset)
    with np.errstate(over="ignore"):
        return int(np.float64(value).astype(np.float16).view(np.uint16))

"""golden.bitserial.finalize (the output unit's integer algorithm) == the exact float64 product
rounded once by numpy (finalize_float64), on hypothesis cases aimed at ties, subnormal results,
the normal/subnormal boundary and overflow, and on every finite fp16 row scale."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bitflight.golden import bitserial as bs
from bitflight.golden.bitserial.output import product_exponent

DP = bs.DEFAULT
OUT = 1 << DP.out_bits - 1
EXP = 1 << DP.out_exp_bits - 1
FINITE16 = [b for b in range(1 << 16) if (b >> 10 & 0x1F) != 0x1F]


def _same(acc: int, exp: int, rs_bits: int, unit_shift: int) -> None:
    rs = float(np.uint16(rs_bits).view(np.float16))
    want = bs.finalize_float64(acc, exp, rs, 2.0 ** -unit_shift, DP)
    got = bs.finalize(acc, exp, rs_bits, unit_shift, DP)
    assert got == want, (acc, exp, hex(rs_bits), unit_shift, hex(got), hex(want))


@given(acc=st.integers(-OUT, OUT - 1), exp=st.integers(-EXP, EXP - 1),
       rs=st.sampled_from(FINITE16), unit_shift=st.integers(0, 1))
def test_integer_finalize_equals_float64_anywhere(acc, exp, rs, unit_shift):
    _same(acc, exp, rs, unit_shift)


def _exp_for(target_lsb: int, rs_bits: int, unit_shift: int) -> int:
    """The Y that puts bit 0 of the product |O| * sig(rs) at exponent ``target_lsb``."""
    return target_lsb - product_exponent(0, rs_bits, unit_shift, DP)


@settings(max_examples=300)
@given(sig=st.integers(0, (1 << 11) - 1), below=st.integers(0, 20), sticky=st.booleans(),
       lsb=st.integers(-30, 6), negative=st.booleans(), rs=st.sampled_from([0x3C00, 0x3800]),
       unit_shift=st.integers(0, 1))
def test_exact_ties_and_near_ties(sig, below, sticky, lsb, negative, rs, unit_shift):
    """sig + 1/2 ulp (+ a sticky bit far below) at result LSB exponents from deep subnormal
    (-30) to beyond the largest normal (6): ties go to even, a sticky bit rounds up, carries
    renormalize and overflow to inf."""
    # 11 significant bits where the LSB is a normal one, fewer at or below the subnormal LSB
    sig = sig | 1 << 10 if lsb > -24 else sig & (1 << 10) - 1
    mag = (2 * sig + 1) << below | int(sticky and below > 0)
    if mag >= OUT:
        return
    exp = _exp_for(lsb - 1 - below, rs, unit_shift)   # the half bit sits just below ``lsb``
    if -EXP <= exp < EXP:
        _same(-mag if negative else mag, exp, rs, unit_shift)


def test_every_finite_row_scale():
    """Each finite fp16 row scale (subnormal, zero and negative ones included) with two
    accumulators: one seeded random, one of the extremes 0, +-1, the 40-bit limits; exponents
    across the whole signed range (so results span zero, subnormal, normal and inf)."""
    rng = np.random.default_rng(5)
    extremes = [0, 1, -1, OUT - 1, -OUT]
    for i, rs in enumerate(FINITE16):
        _same(int(rng.integers(-OUT, OUT)), int(rng.integers(-EXP, EXP)), rs, i & 1)
        _same(extremes[i % 5], int(rng.integers(-EXP, EXP)), rs, i >> 1 & 1)


def test_boundaries_by_hand():
    lsb = DP.lsb_offset
    one = 0x3C00
    assert bs.finalize(65504, lsb, one, 0) == 0x7BFF                 # largest normal, exact
    assert bs.finalize(2 * 65519, lsb - 1, one, 0) == 0x7BFF         # below the tie
    assert bs.finalize(2 * 65520, lsb - 1, one, 0) == 0x7C00         # the tie rounds to inf
    assert bs.finalize(1, lsb - 24, one, 0) == 0x0001                # smallest subnormal
    assert bs.finalize(1, lsb - 25, one, 0) == 0x0000                # half of it: tie to even 0
    assert bs.finalize(3, lsb - 25, one, 0) == 0x0002                # 1.5 -> 2 (even)
    assert bs.finalize(2047, lsb - 25, one, 0) == 0x0400   # 1023.5 x 2^-24: tie to even 1024
    assert bs.finalize(1023, lsb - 24, one, 0) == 0x03FF             # largest subnormal
    assert bs.finalize(7, lsb - 2, 0x8000 | one, 1) == 0xBB00        # -(7/4)/2: row scale sign

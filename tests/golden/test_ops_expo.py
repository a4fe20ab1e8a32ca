"""The exp unit E(t) (golden.ops.expo): table and constants against independent high-precision
values, hand-worked cases, the special-value policy and the derived bound against float64."""
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bitflight.golden.ops import expo
from bitflight.golden.ops.sfu_bounds import FLUSH_ABS, exp_relative

F32 = np.float32
PINNED = "136f565f3363872a"           # sha256 prefix of the table and constants (RTL ROM)


def test_table_checksum_is_pinned():
    assert expo.checksum() == PINNED == expo.CHECKSUM


def nearest_f32(x: Decimal) -> F32:
    """Nearest binary32 of a 50-digit decimal by comparing the two neighbours' distances."""
    c = F32(float(x))
    cands = [np.nextafter(c, F32(-np.inf)), c, np.nextafter(c, F32(np.inf))]
    return min(cands, key=lambda v: abs(Decimal(float(v)) - x))


def test_table_and_constants_against_decimal_arithmetic():
    with localcontext() as ctx:
        ctx.prec = 50
        for j in range(-32, 33):
            want = nearest_f32(Decimal(2) ** (Decimal(j) / 64))
            assert expo.TABLE[j + 32] == want, j
        ln2 = Decimal(2).ln()
        assert [expo.C1, expo.C2, expo.C3] == [nearest_f32(ln2), nearest_f32(ln2 ** 2 / 2),
                                               nearest_f32(ln2 ** 3 / 6)]
        assert expo.LOG2E == nearest_f32(1 / ln2)
    assert expo.TABLE_BITS[[0, 32, 64]].tolist() == [0x3F3504F3, 0x3F800000, 0x3FB504F3]


def test_hand_worked_and_special_values():
    t = np.array([0.0, -0.0, np.nan, -np.inf, -1e-40, -100.0], F32)
    got = expo.exp_nonpos(t)
    assert got.view(np.uint32).tolist() == [0x3F800000, 0x3F800000, 0x7FC00000, 0, 0x3F800000, 0]
    # the flush threshold: y = t * LOG2E < -125 gives +0; just above it a normal number
    edge = F32(-125) / expo.LOG2E
    above = np.nextafter(edge, F32(0))
    assert expo.exp_nonpos(np.array([above], F32))[0] >= F32(2.0 ** -126)
    with pytest.raises(ValueError, match="t <= 0"):
        expo.exp_nonpos(np.array([0.5], F32))


@settings(max_examples=400)
@given(st.floats(-90.0, 0.0, width=32))
def test_within_the_derived_bound_and_at_most_one(t):
    e = float(expo.exp_nonpos(np.array([t], F32))[0])
    ref = math.exp(t)
    assert abs(e - ref) <= float(exp_relative(t)) * ref + FLUSH_ABS
    assert e <= 1.0 and (e == 0.0 or e >= 2.0 ** -126)        # never subnormal


def test_dense_sweep_within_bound():
    t = -np.linspace(0, 86.6, 400001).astype(F32)
    e = expo.exp_nonpos(t).astype(np.float64)
    ref = np.exp(t.astype(np.float64))
    assert (np.abs(e - ref) <= exp_relative(t) * ref).all()
    assert e.max() == 1.0

"""Packed two-MACs-per-DSP arithmetic against plain integer dot products (independent expectation)."""
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitflight.golden import dsp_packing as dp

INT8 = st.integers(-128, 127)
INT4 = st.integers(-8, 7)


def _brute_max_exact(w_lo: int, w_hi: int) -> int:
    """Independent bound: grow n until n copies of the extreme product leave the 18-bit range."""
    prods = [a * w for a in (-128, 127) for w in (w_lo, w_hi)]
    n = 1
    while -(1 << 17) <= n * min(prods) and n * max(prods) < (1 << 17):
        n += 1
    return n - 1


def test_max_exact_products_matches_brute_force():
    assert dp.max_exact_products(8) == _brute_max_exact(-128, 127) == 7
    assert dp.max_exact_products(4) == _brute_max_exact(-8, 7) == 127


def test_oau_interval_is_whole_groups():
    assert dp.oau_interval(2) == 6
    assert dp.oau_interval(4) == 4
    assert dp.oau_interval(2, w_bits=4) == 126
    with pytest.raises(ValueError, match="18-bit lane"):
        dp.oau_interval(8)


@given(INT8, INT8, INT8)
def test_single_packed_product_decodes_exactly(a_hi, a_lo, w):
    assert dp.split_lanes(dp.packed_product(a_hi, a_lo, w)) == (a_hi * w, a_lo * w)


def test_sign_correction_hand_case():
    # a_lo * w = -1 borrows one from the upper field: raw upper bits read 2*3 - 1 = 5.
    p = dp.packed_product(2, -1, 3)
    assert p >> 18 == 5 and dp.split_lanes(p) == (6, -3)


@given(st.lists(st.tuples(INT8, INT8, INT8), min_size=1, max_size=7))
def test_up_to_seven_int8_products_always_exact(terms):
    a_hi, a_lo, w = zip(*terms)
    expect = (sum(x * y for x, y in zip(a_hi, w)), sum(x * y for x, y in zip(a_lo, w)))
    assert dp.packed_dot(a_hi, a_lo, w) == expect


@given(st.lists(st.tuples(INT8, INT8, INT4), min_size=1, max_size=127))
def test_up_to_127_int4_products_always_exact(terms):
    a_hi, a_lo, w = zip(*terms)
    expect = (sum(x * y for x, y in zip(a_hi, w)), sum(x * y for x, y in zip(a_lo, w)))
    assert dp.packed_dot(a_hi, a_lo, w, w_bits=4) == expect


@given(st.lists(st.tuples(INT8, INT8, INT8), min_size=1, max_size=40))
def test_decode_exact_iff_lower_lane_fits(terms):
    a_hi, a_lo, w = zip(*terms)
    exact = (sum(x * y for x, y in zip(a_hi, w)), sum(x * y for x, y in zip(a_lo, w)))
    assert (dp.packed_dot(a_hi, a_lo, w) == exact) == dp.lower_lane_fits(a_lo, w)


def test_eight_minus128_squares_overflow_without_oau():
    """The corner FlightLLM's 'eight accumulations never overflow' misses."""
    n = 8
    a = [-128] * n
    assert not dp.lower_lane_fits(a, a)
    upper, lower = dp.packed_dot(a, a, a)
    assert (upper, lower) != (n * 16384, n * 16384)
    assert lower == -(1 << 17)  # 2**17 wrapped into the 18-bit lane
    assert dp.packed_dot(a, a, a, oau_every=dp.oau_interval(2)) == (n * 16384, n * 16384)


@given(st.lists(st.tuples(INT8, INT8, INT8), min_size=1, max_size=64),
       st.sampled_from([2, 4, 6]))
def test_oau_makes_any_chain_exact(terms, every):
    a_hi, a_lo, w = zip(*terms)
    expect = (sum(x * y for x, y in zip(a_hi, w)), sum(x * y for x, y in zip(a_lo, w)))
    assert dp.packed_dot(a_hi, a_lo, w, oau_every=every) == expect


def test_maximal_chains_with_oau():
    for a_val, w_val, n in itertools.product((-128, 127), (-128, 127), (16, 64)):
        a, w = [a_val] * n, [w_val] * n
        assert dp.packed_dot(a, a, w, oau_every=6) == (n * a_val * w_val,) * 2


@given(st.integers(-(1 << 47), (1 << 47) - 1))
def test_oau_split_loses_nothing(p):
    cleared, lsp, borrow = dp.oau_split(p)
    assert cleared % (1 << 18) == 0
    assert cleared + lsp + borrow * (1 << 18) == p


@given(st.integers(0, 15))
def test_int4_sign_extension(nibble):
    assert dp.sign_extend_int4(nibble) == (nibble - 16 if nibble >= 8 else nibble)
    assert dp.sign_extend_int4(nibble | 0xF0) == dp.sign_extend_int4(nibble)


def test_bad_inputs_name_the_operand():
    with pytest.raises(ValueError, match="a_hi 128"):
        dp.pack_operand(128, 0)
    with pytest.raises(ValueError, match="weight 8"):
        dp.packed_product(0, 0, 8, w_bits=4)
    with pytest.raises(ValueError, match="lane lengths"):
        dp.packed_dot([1], [1, 2], [1])


def test_packed_operand_fits_dsp48e2_port():
    extremes = [dp.pack_operand(h, lo) for h in (-128, 127) for lo in (-128, 127)]
    assert all(-(1 << 26) <= v < (1 << 26) for v in extremes)

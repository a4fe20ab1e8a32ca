"""golden.bitserial: term slots, the datapath steps on hand-worked cases, scalar == vector."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from bitflight.golden import bitserial as bs
from bitflight.golden import formats
from bitserial_cases import SCHEMES, make_qw, random_acts

ONE, HALF, MAXH = (0, 15, 1024), (0, 14, 1024), (0, 30, 2047)   # fp16 fields of 1.0, 0.5, 65504


@pytest.mark.parametrize("name", bs.HW_FORMATS)
def test_slot_terms_sum_to_the_level(name):
    fmt = formats.get(name)
    table = bs.term_table(name)
    expected_slots = {"int6": 3, "int8": 4}.get(name, 2)        # docs/references.md#bitmod-2.4
    assert table.slots == expected_slots
    for code in fmt.codes:
        slots = bs.slot_terms(fmt, int(code))
        level = sum((-1 if neg else 1) << shift for neg, shift in filter(None, slots))
        assert level == round(float(fmt.decode(code)) / fmt.unit)
        if fmt.kind == "int":   # Booth digit k lives in slot k with shift 2k or 2k+1
            assert all(t is None or t[1] // 2 == k for k, t in enumerate(slots))
    assert not table.used[~np.isin(np.arange(1 << fmt.bits), fmt.codes)].any()


def test_special_values_take_two_terms():
    # fp4_er_pos -0 code holds +5 real = 10 integer-scaled = 8 + 2
    assert bs.slot_terms(formats.get("fp4_er_pos"), 0b1000) == ((0, 3), (0, 1))
    assert bs.slot_terms(formats.get("fp3_ea_neg"), 0b100) == ((1, 2), (1, 1))   # -6 = -4 - 2
    assert bs.slot_terms(formats.get("int8"), 0x7F) == ((1, 0), None, None, (0, 7))  # 127=128-1


def test_lane_cycle_hand_worked():
    # 1.0 * 2^0 and 0.5 * 2^1 land on the same exponent: 2 * (1024 << 3) at E = 15
    assert bs.lane_cycle([ONE, HALF, ONE, ONE], [(0, 0), (0, 1), None, None]) == (16384, 15)
    # 1.0 * 2^2 (E=17) against -0.5 * 2^0 (exp 14): shifted right by 3 -> -1024
    assert bs.lane_cycle([ONE, HALF, ONE, ONE], [(0, 2), (1, 0), None, None]) == (8192 - 1024, 17)
    # floor truncation of a negative lane: -(1025 << 3) >> 14 = -1
    sub = (0, 1, 1025)
    assert bs.lane_cycle([ONE, sub, ONE, ONE], [(0, 0), (1, 0), None, None]) == (8192 - 1, 15)
    # zero activation and empty slots are dead lanes; none live -> (0, 0)
    assert bs.lane_cycle([(0, 1, 0), ONE, ONE, ONE], [(0, 7), None, None, None]) == (0, 0)
    # max magnitude times the largest int8 term: exponent 37 fits the 6-bit exponent
    assert bs.lane_cycle([MAXH] * 4, [(0, 7)] * 4) == (4 * 2047 * 8, 37)


def test_accumulate_aligns_truncates_and_normalizes():
    assert bs.accumulate(0, 0, 100, 5, 24) == (100, 5)
    assert bs.accumulate(100, 5, 7, 3, 24) == (101, 5)              # 7 >> 2 = 1
    assert bs.accumulate(-3, 5, 1, 6, 24) == (-1, 6)                # floor(-3 / 2) + 1
    assert bs.accumulate(-3, 5, 0, 37, 24) == (-3, 5)               # zero has no exponent
    assert bs.accumulate(5, 9, -5, 9, 24) == (0, 0)                 # cancellation -> canonical 0
    assert bs.accumulate(0, 3, 0, 9, 40, floor=-24) == (0, -24)
    assert bs.accumulate((1 << 23) - 1, 9, 1, 9, 24) == (1 << 22, 10)   # overflow: >> 1, exp + 1
    assert bs.accumulate(-(1 << 23), 9, -2, 9, 24) == (-(1 << 22) - 1, 10)


@given(st.integers(-(1 << 23), (1 << 23) - 1), st.integers(0, 255))
def test_bit_serial_dequant_is_the_product(acc, scale):
    assert bs.dequant(acc, scale, 8) == acc * scale


def test_finalize_rounds_once_to_nearest_even():
    lsb = bs.DEFAULT.lsb_offset
    one, half = 0x3C00, 1                       # row scale 1.0; unit 0.5 = 2**-1
    # 1 + 2^-11 + 2^-38 must round up to 1 + 2^-10 (a float32 detour would round to 1.0)
    assert bs.finalize((1 << 38) + (1 << 27) + 1, lsb - 38, one, 0) == 0x3C01
    assert bs.finalize((1 << 38) + (1 << 27), lsb - 38, one, 0) == 0x3C00   # tie -> even
    with pytest.raises(ValueError, match="40 signed bits"):
        bs.finalize(1 << 39, lsb - 39, one, 0)
    assert bs.finalize(3, lsb - 1, one, half) == 0x3A00                      # 3/2*0.5 = 0.75
    assert bs.finalize(65520, lsb, one, 0) == 0x7C00                         # overflow -> inf
    assert bs.finalize(-65519, lsb, one, 0) == 0xFBFF                        # just below: max
    assert bs.finalize(-3, lsb - 26, one, 0) == 0x8001     # -3 * 2^-26 -> -2^-24 (subnormal)
    assert bs.finalize(-1, lsb - 26, one, 0) == 0x8000     # -2^-26 -> -0 (sign kept)
    assert bs.finalize(5, lsb, 0x0000, 0) == 0x0000 and bs.finalize(-5, lsb, 0, 0) == 0x8000


def _check_same(x, qw):
    ref = bs.linear_scalar(x, qw)
    fast = bs.linear(x, qw)
    assert torch.equal(ref.view(torch.int16), fast.view(torch.int16))
    return fast


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("mode", ["int", "fp16"])
def test_vector_equals_scalar_every_datatype(scheme, mode):
    rng = np.random.default_rng(sum(map(ord, scheme + mode)))
    qw = make_qw(rng, 6, 64, 32, SCHEMES[scheme], mode, zero_group=True)
    _check_same(random_acts(rng, 5, 64), qw)


@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([1.0, 8.0, 15.0]),
       scheme=st.sampled_from(sorted(SCHEMES)), group=st.sampled_from([4, 8, 32]))
def test_vector_equals_scalar_hypothesis(seed, spread, scheme, group):
    rng = np.random.default_rng(seed)
    qw = make_qw(rng, 3, 2 * group, group, SCHEMES[scheme], rng.choice(["int", "fp16"]))
    _check_same(random_acts(rng, 3, 2 * group, 0.3, spread), qw)


def test_edge_activations_all_zero_max_and_subnormal():
    rng = np.random.default_rng(7)
    qw = make_qw(rng, 4, 32, 32, SCHEMES["int8"])
    for bits in (0x0000, 0x7BFF, 0xFBFF, 0x0001, 0x03FF):
        x = torch.from_numpy(np.full((2, 32), bits, np.uint16).view(np.float16))
        _check_same(x, qw)
    zero = torch.zeros(2, 32, dtype=torch.float16)
    assert not bs.linear(zero, qw).any()


def test_bad_inputs_name_the_problem():
    rng = np.random.default_rng(1)
    qw = make_qw(rng, 2, 32, 32, SCHEMES["int4"])
    x = torch.zeros(1, 32, dtype=torch.float16)
    x[0, 3] = float("inf")
    with pytest.raises(ValueError, match="inf or NaN"):
        bs.linear(x, qw)
    with pytest.raises(ValueError, match="K=16"):
        bs.linear(torch.zeros(1, 16, dtype=torch.float16), qw)
    qw.zero_points = np.zeros((2, 1), np.uint8)
    with pytest.raises(ValueError, match="zero points"):
        bs.linear(torch.zeros(1, 32, dtype=torch.float16), qw)
    with pytest.raises(ValueError, match="nf4"):
        bs.term_table("nf4")
    with pytest.raises(ValueError, match="not supported"):
        bs.hw_index("flint4")


def test_zero_scale_group_does_not_coarsen_the_sum():
    """A group with scale 0 contributes exactly nothing, even next to 65504 activations."""
    rng = np.random.default_rng(9)
    qw = make_qw(rng, 3, 64, 32, SCHEMES["bitmod4"])
    qw.int_scales[:, 1] = 0
    x = random_acts(rng, 2, 64, 0.0, 2.0)
    x[:, 32:] = 65504.0
    first = make_qw(rng, 3, 32, 32, SCHEMES["bitmod4"])
    for name in ("codes", "dtype_ids", "int_scales"):
        setattr(first, name, getattr(qw, name)[:, :(32 if name == "codes" else 1)].copy())
    first.row_scales = qw.row_scales
    assert torch.equal(bs.linear(x, qw), bs.linear(x[:, :32].contiguous(), first))

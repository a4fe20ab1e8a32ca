"""The elementary operations of docs/numerics.md (golden.ops.binary32) against hand-worked cases
and independent scalar computations."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bitflight.golden.ops import binary32 as b

F32 = np.float32


def bits16(a):
    return np.asarray(a, np.float16).view(np.uint16).tolist()


def bits32(a):
    return np.asarray(a, F32).view(np.uint32).tolist()


def test_h_rounds_to_nearest_even_with_ieee_overflow_and_subnormals():
    ulp = 2.0 ** -10
    x = np.array([1 + ulp / 2, 1 + 3 * ulp / 2, 65519.99, 65520, -65520, 2.0 ** -25,
                  3 * 2.0 ** -26, 2.0 ** -26], F32)
    got = b.h(x)
    assert got.dtype == np.float16
    assert got.astype(np.float64).tolist() == [1.0, 1 + 2 * ulp, 65504.0, np.inf, -np.inf, 0.0,
                                               2.0 ** -24, 0.0]


def test_nans_leave_canonical():
    raw = np.array([0x7FC00001, 0xFFC00000, 0x7F800001], np.uint32).view(F32)
    assert bits16(b.h(raw)) == [0x7E00] * 3
    assert bits32(b.canon(raw)) == [0x7FC00000] * 3
    assert bits32(b.canon(np.array([1.5, -0.0], F32))) == bits32([1.5, -0.0])


def test_rint_ties_to_even_and_int32_conversion():
    assert b.rint(np.array([0.5, 1.5, 2.5, -0.5, -2.5], F32)).tolist() == [0, 2, 2, -0.0, -2]
    assert b.f(np.array([2**24 + 1, 2**24 + 3, -(2**31)], np.int64)).tolist() == \
        [2.0**24, 2.0**24 + 4, -(2.0**31)]
    with pytest.raises(ValueError, match="INT32"):
        b.f(np.array([2**31], np.int64))


def scalar_tree(values):
    """The tree written out with Python lists of numpy float32 scalars."""
    level = [F32(v) for v in values] or [F32(0)]
    while len(level) & (len(level) - 1):
        level.append(F32(0))
    with np.errstate(all="ignore"):
        while len(level) > 1:
            level = [F32(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_tree_hand_cases():
    # (2^-24 + 2^-24) + (1 + 0) = 1 + 2^-23; a sequential sum or the interleaved halving
    # (2^-24 + 1) + (2^-24 + 0) would both give 1.0
    assert float(b.tree(np.array([2.0**-24, 2.0**-24, 1.0, 0.0], F32))) == 1 + 2.0**-23
    assert bits32(b.tree(np.zeros((2, 0), F32))) == [0, 0]
    assert bits32(b.tree(np.array([-0.0], F32))) == bits32(-0.0)          # n = 1: v0 itself
    assert bits32(b.tree(np.array([-0.0, -0.0], F32))) == bits32(-0.0)
    assert bits32(b.tree(np.array([-0.0, -0.0, -0.0], F32))) == 0        # padded with +0


finite32 = st.floats(-2.0**100, 2.0**100, width=32)
special32 = st.sampled_from([0.0, -0.0, np.inf, -np.inf, 2.0**-149, -(2.0**-149), 3e38])


@settings(max_examples=150)
@given(st.lists(finite32 | special32, min_size=0, max_size=70))
def test_tree_and_streaming_tree_equal_the_written_out_tree(values):
    v = np.array(values, F32)
    want = b.canon(scalar_tree(values))
    assert bits32(b.canon(b.tree(v))) == bits32(want)
    acc = b.StreamingTree()
    with b.quiet():
        for x in v:
            acc.add(np.array(x))
    assert bits32(b.canon(acc.result(()))) == bits32(want)


def test_tree_rows_are_independent_of_the_batch():
    g = np.random.default_rng(1)
    x = g.standard_normal((5, 37)).astype(F32)
    whole = b.tree(x)
    assert all(bits32(b.tree(x[i])) == bits32(whole[i]) for i in range(5))


def test_amax_is_total_order_and_propagates_nan():
    rows = np.array([[-0.0, 0.0, -1], [0.0, -0.0, -1], [-0.0, -0.0, -3], [1, np.nan, 2],
                     [-np.inf, -np.inf, -np.inf], [-5, 2.0**-149, -0.0]], F32)
    assert bits32(b.canon(b.amax(rows))) == bits32([0.0, 0.0, -0.0, np.nan, -np.inf,
                                                    2.0**-149])


@settings(max_examples=100)
@given(st.lists(finite32, min_size=1, max_size=40))
def test_amax_equals_python_max_on_finite_values(values):
    assert float(b.amax(np.array(values, F32))) == max(float(F32(v)) for v in values)

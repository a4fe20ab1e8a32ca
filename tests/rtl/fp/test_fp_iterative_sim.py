"""The iterative divider and square root of rtl/fp in amaranth.sim, bit-exact against numpy
float32 (correctly rounded, golden/ops/binary32.py): edge values, subnormal quotients, seeded
random operands and hypothesis batches, at one and several result bits per cycle; the measured
start-to-done time equals ``latency``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bitflight.base.errors import ConfigError
from bitflight.rtl.fp import Fp32Div, Fp32Sqrt

import fp_cases as cases
from fp_driver import mismatches, run_iterative

U32 = np.uint32
f32_bits = st.one_of(st.floats(width=32).map(lambda v: int(np.float32(v).view(U32))),
                     st.integers(0, (1 << 32) - 1))


def check_div(a, b, bits_per_cycle=1, gap=0, stages=0):
    dut = Fp32Div(bits_per_cycle, stages)
    got, cycles = run_iterative(dut, {"a": a, "b": b}, gap)
    want = cases.div(a.astype(U32), b.astype(U32))
    assert not mismatches({"a": a, "b": b}, got, want), mismatches({"a": a, "b": b}, got, want)
    assert set(cycles) == {dut.latency}
    return dut.latency


def check_sqrt(a, bits_per_cycle=1, gap=0, stages=0):
    dut = Fp32Sqrt(bits_per_cycle, stages)
    got, cycles = run_iterative(dut, {"a": a}, gap)
    want = cases.sqrt(a.astype(U32))
    assert not mismatches({"a": a}, got, want), mismatches({"a": a}, got, want)
    assert set(cycles) == {dut.latency}
    return dut.latency


def test_div_on_edge_pairs():
    a, b = cases.pairs(cases.EDGE32, cases.EDGE32)
    check_div(a, b, bits_per_cycle=7)


def test_div_on_random_and_subnormal_quotients():
    rng = np.random.default_rng(7)
    a, b = cases.random32(rng, 60), cases.random32(rng, 60)
    # quotients in and just above the subnormal range: a small normal over a large one
    n = 60
    small = (rng.integers(1, 40, n).astype(U32) << 23) | rng.integers(0, 1 << 23, n).astype(U32)
    large = (rng.integers(120, 160, n).astype(U32) << 23) | rng.integers(0, 1 << 23, n).astype(U32)
    check_div(np.concatenate([a, small]), np.concatenate([b, large]))


@pytest.mark.parametrize("bits_per_cycle", [2, 5, 28])
def test_div_several_bits_per_cycle(bits_per_cycle):
    rng = np.random.default_rng(bits_per_cycle)
    a, b = cases.random32(rng, 80), cases.random32(rng, 80)
    check_div(np.concatenate([cases.EDGE32, a]), np.concatenate([cases.EDGE32[::-1], b]),
              bits_per_cycle, gap=1)


@pytest.mark.parametrize("stages", [1, 2])
def test_div_with_rounding_stages(stages):
    """Registers in the rounding: same results, ``latency`` one cycle per rank later, ``busy``
    until ``done`` (the driver asserts both), back to back and with idle gaps."""
    rng = np.random.default_rng(40 + stages)
    a, b = cases.random32(rng, 60), cases.random32(rng, 60)
    for gap in (0, 1):
        latency = check_div(np.concatenate([cases.EDGE32, a]),
                            np.concatenate([cases.EDGE32[::-1], b]), 7, gap, stages)
        assert latency == 4 + 1 + stages            # ceil(28 / 7) iterations


@settings(max_examples=3)
@given(vectors=st.lists(st.tuples(f32_bits, f32_bits), min_size=50, max_size=100))
def test_div_on_hypothesis_batches(vectors):
    a, b = (np.array(col, dtype=U32) for col in zip(*vectors))
    check_div(a, b, bits_per_cycle=7)


def test_sqrt_on_edges_and_random():
    rng = np.random.default_rng(9)
    a = np.concatenate([cases.EDGE32, cases.random32(rng, 60) & U32(0x7FFFFFFF),
                        cases.random32(rng, 20)])
    # squares of random 12-bit integers and their neighbours (exact roots, near-exact roots)
    sq = (rng.integers(1, 4096, 20) ** 2).astype(np.float32).view(U32)
    check_sqrt(np.concatenate([a, sq, sq + U32(1), sq - U32(1)]))


@pytest.mark.parametrize("bits_per_cycle", [3, 9, 27])
def test_sqrt_several_bits_per_cycle(bits_per_cycle):
    rng = np.random.default_rng(bits_per_cycle)
    check_sqrt(np.concatenate([cases.EDGE32, cases.random32(rng, 150)]), bits_per_cycle, gap=2)


@pytest.mark.parametrize("stages", [1, 2])
def test_sqrt_with_rounding_stages(stages):
    rng = np.random.default_rng(50 + stages)
    a = np.concatenate([cases.EDGE32, cases.random32(rng, 80)])
    for gap in (0, 2):
        assert check_sqrt(a, 9, gap, stages) == 3 + 1 + stages     # ceil(27 / 9) iterations


@settings(max_examples=3)
@given(vectors=st.lists(f32_bits, min_size=50, max_size=100))
def test_sqrt_on_hypothesis_batches(vectors):
    check_sqrt(np.array(vectors, dtype=U32), bits_per_cycle=9)


@pytest.mark.parametrize("unit", [Fp32Div, Fp32Sqrt])
def test_bad_bits_per_cycle_is_a_config_error(unit):
    with pytest.raises(ConfigError, match="bits_per_cycle"):
        unit(0)
    with pytest.raises(ConfigError, match="stages"):
        unit(1, -1)

"""The binary32/binary16 units of rtl/fp in amaranth.sim, bit-exact against golden/ops/binary32.py:
every pair of edge values, seeded random vectors and hypothesis-drawn batches (hypothesis' float
strategy favours zeros, subnormals, infinities, NaNs and boundaries)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bitflight.rtl.fp import F16ToF32, F32Rint, F32ToF16, Fp32Add, Fp32Max, Fp32Mul, I32ToF32

import fp_cases as cases
from fp_driver import mismatches, run_unit

U32 = np.uint32
BINARY = {"add": (Fp32Add, cases.add), "mul": (Fp32Mul, cases.mul), "max": (Fp32Max, cases.vmax)}

f32_bits = st.one_of(st.floats(width=32).map(lambda v: int(np.float32(v).view(U32))),
                     st.integers(0, (1 << 32) - 1))
batch = st.lists(st.tuples(f32_bits, f32_bits), min_size=50, max_size=150)


def check_binary(op: str, a: np.ndarray, b: np.ndarray, **kw):
    unit, golden = BINARY[op]
    got = run_unit(unit(**kw), {"a": a, "b": b})["y"]
    want = golden(a.astype(U32), b.astype(U32))
    assert not mismatches({"a": a, "b": b}, got, want), mismatches({"a": a, "b": b}, got, want)


@pytest.mark.parametrize("op", BINARY)
def test_binary_unit_on_every_pair_of_edge_values(op):
    a, b = cases.pairs(cases.EDGE32, cases.EDGE32)
    check_binary(op, a, b)


@pytest.mark.parametrize("op", BINARY)
def test_binary_unit_on_seeded_random_operands(op):
    rng = np.random.default_rng(11)
    a, b = cases.random32(rng, 400), cases.random32(rng, 400)
    # near-cancelling sums: b close to -a
    b[:100] = (a[:100] ^ U32(1 << 31)) + rng.integers(-3, 4, 100).astype(U32)
    check_binary(op, a, b)


@pytest.mark.parametrize("op", BINARY)
@settings(max_examples=4)
@given(vectors=batch)
def test_binary_unit_on_hypothesis_batches(op, vectors):
    a, b = (np.array(col, dtype=U32) for col in zip(*vectors))
    check_binary(op, a, b)


def test_f16_to_f32_on_every_binary16():
    x = np.arange(1 << 16, dtype=np.int64)[::7]
    x = np.concatenate([x, cases.EDGE16])
    got = run_unit(F16ToF32(), {"a": x})["y"]
    want = cases.f16_to_f32(x)
    assert not mismatches({"a": x}, got, want), mismatches({"a": x}, got, want)


@settings(max_examples=4)
@given(vectors=st.lists(f32_bits, min_size=50, max_size=200))
def test_f32_to_f16_on_hypothesis_batches(vectors):
    a = np.array(vectors, dtype=U32)
    got = run_unit(F32ToF16(), {"a": a})["y"]
    want = cases.f32_to_f16(a)
    assert not mismatches({"a": a}, got, want), mismatches({"a": a}, got, want)


def test_f32_to_f16_on_edges_and_fp16_rounding_boundaries():
    rng = np.random.default_rng(5)
    # every fp16 exponent (incl. subnormal and overflow ranges), random low bits (ties included)
    e = rng.integers(127 - 26, 127 + 17, 600).astype(U32)
    low = rng.choice([0, 0x1000, 0x0FFF, 0x1001, 0x2000, 0x3000], 600).astype(U32)
    m = (rng.integers(0, 1 << 10, 600).astype(U32) << 13) | low
    a = np.concatenate([cases.EDGE32, (e << 23) | m | (rng.integers(0, 2, 600).astype(U32) << 31)])
    got = run_unit(F32ToF16(), {"a": a})["y"]
    want = cases.f32_to_f16(a)
    assert not mismatches({"a": a}, got, want), mismatches({"a": a}, got, want)


@settings(max_examples=4)
@given(vectors=st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=50, max_size=200))
def test_i32_to_f32_on_hypothesis_batches(vectors):
    x = np.concatenate([np.array(vectors, dtype=np.int64), cases.EDGE_INT])
    got = run_unit(I32ToF32(), {"a": x})["y"]
    want = cases.i32_to_f32(x)
    assert not mismatches({"a": x}, got, want), mismatches({"a": x}, got, want)


def _check_rint(a: np.ndarray, **kw):
    out = run_unit(F32Rint(**kw), {"a": a}, outputs=("y", "nan"))
    want_y, want_nan = cases.rint(a)
    for port, want in (("y", want_y), ("nan", want_nan)):
        bad = mismatches({"a": a}, out[port], want)
        assert not bad, (port, bad)


def test_rint_on_edges_ties_and_saturation():
    rng = np.random.default_rng(3)
    halves = (rng.integers(-2**23, 2**23, 300) + 0.5).astype(np.float32).view(U32)
    ints = rng.integers(-2**31, 2**31, 200).astype(np.float32).view(U32)
    a = np.concatenate([cases.EDGE32, halves, ints, cases.random32(rng, 300)])
    _check_rint(a)


@settings(max_examples=4)
@given(vectors=st.lists(f32_bits, min_size=50, max_size=200))
def test_rint_on_hypothesis_batches(vectors):
    _check_rint(np.array(vectors, dtype=U32))


def test_bad_stages_is_a_one_line_config_error():
    from bitflight.base.errors import ConfigError
    with pytest.raises(ConfigError, match="Fp32Add: stages"):
        Fp32Add(stages=-1)


PIPELINED = [(Fp32Add, ("a", "b"), ("y",)), (Fp32Mul, ("a", "b"), ("y",)),
             (F32ToF16, ("a",), ("y",)), (I32ToF32, ("a",), ("y",)),
             (F32Rint, ("a",), ("y", "nan"))]


@pytest.mark.parametrize("unit,ins,outs", PIPELINED, ids=[u.__name__ for u, _, _ in PIPELINED])
def test_pipelined_units_give_the_combinational_results_latency_cycles_later(unit, ins, outs):
    rng = np.random.default_rng(2)
    vec = {name: np.concatenate([cases.EDGE32, cases.random32(rng, 150)]) for name in ins}
    if unit is I32ToF32:
        vec["a"] = vec["a"].view(np.int32)
    want = run_unit(unit(), vec, outs)
    for stages in (1, 2, 3, 4, 5, 7):
        dut = unit(stages=stages)
        assert dut.latency == stages
        got = run_unit(dut, vec, outs)
        for port in outs:
            np.testing.assert_array_equal(got[port], want[port], err_msg=f"stages={stages} {port}")
        # one cycle early the outputs are those of earlier vectors: the latency is real
        early = run_unit(unit(stages=stages), vec, outs, latency=stages - 1)
        assert any((early[port] != want[port]).any() for port in outs)


def test_cut_orders_place_ranks_in_their_order():
    """The pipelined adder's and multiplier's ranks go to their CUT_ORDER's first points; an
    order that is not a permutation of the points is refused."""
    from amaranth.hdl import Module

    from bitflight.rtl.fp import add, mul
    from bitflight.rtl.fp.fields import Pipe
    assert Pipe(Module(), 4, 6, "t", add.CUT_ORDER).ranks == [1, 0, 1, 1, 0, 1]
    # five ranks leave the operands unregistered; the sixth goes in front of the multipliers
    assert Pipe(Module(), 5, 6, "t", mul.CUT_ORDER).ranks == [0, 1, 1, 1, 1, 1]
    assert Pipe(Module(), 6, 6, "t", mul.CUT_ORDER).ranks == [1] * 6
    assert Pipe(Module(), 7, 6, "t", mul.CUT_ORDER).ranks == [1, 1, 2, 1, 1, 1]
    with pytest.raises(ValueError, match="not a permutation"):
        Pipe(Module(), 2, 3, "t", (0, 0, 1))


def test_registered_unit_is_the_unit_two_cycles_later():
    """The port-registered wrapper of the pnr targets (sfu-add, ...) adds exactly two cycles."""
    from bitflight.rtl.fp.units import Registered
    rng = np.random.default_rng(3)
    vec = {name: np.concatenate([cases.EDGE32, cases.random32(rng, 60)]) for name in "ab"}
    want = run_unit(Fp32Mul(), vec)
    dut = Registered(Fp32Mul(3))
    assert dut.latency == 5
    np.testing.assert_array_equal(run_unit(dut, vec)["y"], want["y"])
    early = run_unit(Registered(Fp32Mul(3)), vec, latency=4)
    assert (early["y"] != want["y"]).any()

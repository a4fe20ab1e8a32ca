"""The floating align-add (rtl/bitmod/align_add.py) in amaranth.sim against
golden.bitserial.accumulate, in the shape the engine builds (the row unit's output
accumulator) and in small generic ones (signed and unsigned exponents) that also test a zero
``acc`` at any exponent: seeded random operands over the whole ranges, every
exponent order, zero operands with stale exponents, sums that cancel to zero, and overflows
into the next exponent."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.hdl import signed
from amaranth.sim import Simulator

from bitflight.golden import bitserial as bs
from bitflight.golden.bitserial.weights import MIN_GROUP_EXP
from bitflight.rtl.bitmod.align_add import AlignAdd

DP = bs.DEFAULT
EXP_OUT = 1 << DP.out_exp_bits - 1
RESULT_BITS = 35          # EngineParams().result_bits on the default datapath

# name: (acc_bits, val_bits, exponent shape, exponent range, floor, the operands whose zero
# comes at the floor, as the unit is promised: AlignAdd's acc_/val_zero_at_floor); the
# ranges stop one short of the shape's top, so an overflow's exponent + 1 still fits (the
# engine's exponents stay far below it; the unit wraps like any adder). The PE's group
# accumulator is GroupAccumulator (test_group_acc.py).
SHAPES = {
    "output": (DP.out_bits, RESULT_BITS, signed(DP.out_exp_bits), (-EXP_OUT, EXP_OUT - 1),
               MIN_GROUP_EXP, ("acc", "val")),
    "small": (7, 5, signed(3), (-4, 3), -4, ()),
    "small-unsigned": (7, 5, 3, (0, 7), 0, ()),
    "small-val-at-floor": (7, 5, signed(3), (-4, 3), -4, ("val",)),
}


def _cases(acc_bits, val_bits, exps, floor, at_floor, n=1500, seed=3):
    rng = np.random.default_rng(seed)
    lo, hi = exps
    acc_lim, val_lim = 1 << acc_bits - 1, 1 << val_bits - 1

    def mag(limit):  # magnitudes spread over every bit length, and the extremes
        return int(rng.choice([int(rng.integers(-limit, limit)) >> int(rng.integers(0, 40)),
                               -limit, limit - 1, 0]))

    out = []
    for _ in range(n):
        acc, val = mag(acc_lim), mag(val_lim)
        acc_exp, val_exp = int(rng.integers(lo, hi)), int(rng.integers(lo, hi))
        if rng.random() < 0.1:    # a sum that cancels, after alignment or exactly
            acc, acc_exp = -val, val_exp
        out.append((acc, acc_exp, val, val_exp))
    # zero operands with the largest and smallest exponents, and overflow of both extremes
    for e1, e2 in itertools.product((lo, hi - 1, (lo + hi) // 2), repeat=2):
        out += [(0, e1, val_lim - 1, e2), (acc_lim - 1, e1, 0, e2), (0, e1, 0, e2),
                (acc_lim - 1, e1, val_lim - 1, e1), (-acc_lim, e1, -val_lim, e1),
                (-acc_lim, e1, -1, e2), (1, e1, -1, e1)]
    # the promises the engine keeps: a zero operand comes with exponent floor
    return [(a, e if a or "acc" not in at_floor else floor, v,
             ve if v or "val" not in at_floor else floor) for a, e, v, ve in out]


@pytest.mark.parametrize("shape", SHAPES)
def test_align_add_equals_golden_accumulate(shape):
    acc_bits, val_bits, exp_shape, exps, floor, at_floor = SHAPES[shape]
    dut = AlignAdd(acc_bits, val_bits, exp_shape, floor, acc_zero_at_floor="acc" in at_floor,
                   val_zero_at_floor="val" in at_floor)
    cases = _cases(acc_bits, val_bits, exps, floor, at_floor)
    got = []

    async def bench(ctx):
        for i in range(len(cases) + dut.latency):
            if i < len(cases):
                for port, value in zip((dut.acc, dut.acc_exp, dut.val, dut.val_exp), cases[i]):
                    ctx.set(port, value)
            if i >= dut.latency:
                got.append((ctx.get(dut.sum), ctx.get(dut.sum_exp)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    want = [bs.accumulate(*c, acc_bits, floor) for c in cases]
    bad = [(c, g, w) for c, g, w in zip(cases, got, want) if g != w]
    assert not bad, bad[:5]
    # the cases reach every outcome: a zero sum, an overflow, a zero val at a stale exponent
    assert any(w == (0, floor) and c[0] for c, w in zip(cases, want))
    assert any(w[1] > max(c[1] if c[0] else floor, c[3] if c[2] else floor)
               for c, w in zip(cases, want))
    assert any(c[2] == 0 and c[3] > c[1] and c[0] for c in cases) or "val" in at_floor

"""The PE's group accumulator (rtl/bitmod/group_acc.py) in amaranth.sim, cycle by cycle against
golden.bitserial.accumulate on seeded random streams: steps with gaps, groups closed at random,
zero partials at stale exponents, sums that cancel to zero, overflows into the next exponent,
and exponents that jump both ways between cycles (its exponent differences are computed a cycle
ahead, so every way the exponent can change is exercised)."""
from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from bitflight.golden import bitserial as bs
from bitflight.rtl.bitmod.group_acc import GroupAccumulator

DP = bs.DEFAULT


def _stream(n: int, seed: int, clear_rate: float = 0.08, push_rate: float = 0.1):
    """Cycles of (step, clear, val, val_exp), chosen so that every outcome occurs often; an
    overflow needs about 2^7 full partials at one exponent, hence long groups of pushes."""
    rng = np.random.default_rng(seed)
    lim = 1 << DP.partial_bits - 1
    top = (1 << DP.exp_bits) - 8          # room for the overflows of one group
    acc, acc_exp, exp = 0, 0, 20
    cycles = []
    for _ in range(n):
        step, clear = rng.random() < 0.8, rng.random() < clear_rate
        kind = 3 if rng.random() < push_rate else rng.integers(0, 10)
        exp = int(np.clip(exp + rng.integers(-6, 7), 0, top)) if kind else int(rng.integers(0, top))
        if kind == 1:
            val = 0
        elif kind == 2 and acc and -lim <= -acc < lim:
            val, exp = -acc, acc_exp       # cancels to zero
        elif kind == 3:
            val, exp = (lim - 1 if acc >= 0 else -lim), acc_exp   # pushes toward overflow
        else:
            val = int(rng.integers(-lim, lim)) >> int(rng.integers(0, 16))
        if step:
            acc, acc_exp = (0, 0) if clear else bs.accumulate(acc, acc_exp, val, exp, DP.acc_bits)
        cycles.append((int(step), int(clear), val, exp))
    return cycles


def test_group_accumulator_equals_golden_cycle_by_cycle():
    cycles = _stream(3000, seed=5) + _stream(1500, seed=6, clear_rate=0.003, push_rate=0.7)
    dut = GroupAccumulator(DP.acc_bits, DP.partial_bits, DP.exp_bits)
    got = []

    async def bench(ctx):
        for i, (step, clear, val, exp) in enumerate(cycles):
            nxt = cycles[i + 1][3] if i + 1 < len(cycles) else 0
            for port, value in ((dut.step, step), (dut.clear, clear), (dut.val, val),
                                (dut.val_exp, exp), (dut.next_exp, nxt)):
                ctx.set(port, value)
            got.append((ctx.get(dut.acc), ctx.get(dut.acc_exp), ctx.get(dut.sum),
                        ctx.get(dut.sum_exp)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    acc, acc_exp, seen = 0, 0, set()
    cancelled_at = None       # the exponent of the last sum that cancelled, while the state is 0
    for i, ((step, clear, val, exp), (g_acc, g_exp, g_sum, g_sum_exp)) in enumerate(
            zip(cycles, got)):
        assert (g_acc, g_exp) == (acc, acc_exp), f"cycle {i}: state"
        if not step:
            continue
        want = bs.accumulate(acc, acc_exp, val, exp, DP.acc_bits)
        # a zero sum's exponent is unspecified (golden ignores a zero operand's exponent)
        assert (g_sum, g_sum_exp if g_sum else 0) == want, f"cycle {i}: {(acc, acc_exp, val, exp)}"
        # the unit keeps a cancelled sum's exponent and flags it; a partial below that
        # exponent must still be taken unshifted
        if cancelled_at is not None and val and exp < cancelled_at:
            seen.add("below a cancelled sum")
        seen.add("zero" if want == (0, 0) and val else "over" if want[1] > max(acc_exp, exp)
                 else "stale" if not val and exp > acc_exp else "plain")
        if clear or want[0]:
            cancelled_at = None
        elif val:
            cancelled_at = max(acc_exp if acc else 0, exp)
        acc, acc_exp = (0, 0) if clear else want
    assert seen == {"zero", "over", "stale", "plain", "below a cancelled sum"}

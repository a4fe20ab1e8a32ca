"""The output conversion unit (rtl/bitmod/finalize.py) in amaranth.sim against
golden.bitserial.finalize: seeded random accumulators, exponents and row scales over their whole
ranges, exact ties and near ties at every result exponent from deep subnormal to overflow, the
accumulator and exponent extremes, and the pipeline's hold while ``en`` is low."""
from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from bitflight.golden import bitserial as bs
from bitflight.golden.bitserial.output import product_exponent
from bitflight.rtl.bitmod.finalize import Finalize, leading_one, sign_magnitude
from bitflight.sim.hdl import amaranth_run

DP = bs.DEFAULT
OUT = 1 << DP.out_bits - 1
EXP = 1 << DP.out_exp_bits - 1


def _vectors(seed: int = 1) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(seed)
    finite = np.array([b for b in range(1 << 16) if (b >> 10 & 0x1F) != 0x1F])
    vecs = [(int(rng.integers(-OUT, OUT)), int(rng.integers(-EXP, EXP)), int(rs), int(u))
            for rs, u in zip(rng.choice(finite, 1500), rng.integers(0, 2, 1500))]
    # results near every fp16 exponent: a random normal-range magnitude placed by Y
    for _ in range(1500):
        rs, u = int(rng.choice(finite[finite & 0x7C00 != 0])), int(rng.integers(0, 2))
        mag = int(rng.integers(1, OUT)) >> int(rng.integers(0, 39))
        lsb = int(rng.integers(-34, 8))          # LSB exponent of the 11-bit result
        exp = lsb - (mag * int(rs & 0x3FF | 0x400)).bit_length() + 11 \
            - product_exponent(0, rs, u, DP)
        if -EXP <= exp < EXP:
            vecs.append((mag * int(rng.choice([-1, 1])), exp, rs, u))
    # exact ties (sig + 1/2 ulp) and ties plus a far sticky bit, row scale 1.0
    for _ in range(1000):
        sig, below, lsb = int(rng.integers(0, 2048)), int(rng.integers(1, 25)), int(rng.integers(-26, 7))
        sig = sig | 1024 if lsb > -24 else sig & 1023
        mag = (2 * sig + 1) << below | int(rng.integers(0, 2))
        exp = lsb - 1 - below - product_exponent(0, 0x3C00, 0, DP)
        if mag < OUT and -EXP <= exp < EXP:
            vecs.append((mag, exp, 0x3C00, 0))
    vecs += [(a, y, 0x3C00, 0) for a in (0, 1, -1, OUT - 1, -OUT) for y in (-EXP, 0, EXP - 1)]
    return vecs


def test_finalize_unit_equals_golden_on_random_ties_and_extremes():
    dut = Finalize(DP)
    vecs = _vectors()
    got = []

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for i in range(len(vecs) + dut.latency):
            if i < len(vecs):
                acc, exp, rs, u = vecs[i]
                ctx.set(dut.sign, int(acc < 0))
                ctx.set(dut.mag, abs(acc))
                ctx.set(dut.exp, exp)
                ctx.set(dut.row_scale, rs)
                ctx.set(dut.unit_shift, u)
            await ctx.tick()
            if i >= dut.latency - 1:
                got.append(ctx.get(dut.value))
        # en low: the output holds
        ctx.set(dut.en, 0)
        ctx.set(dut.mag, 12345)
        for _ in range(3):
            await ctx.tick()
            assert ctx.get(dut.value) == got[-1]

    amaranth_run.run(dut, bench)
    want = [bs.finalize(*v, DP) for v in vecs]
    bad = [(v, hex(g), hex(w)) for v, g, w in zip(vecs, got, want) if g != w]
    assert not bad, bad[:5]
    kinds = np.array(want, np.uint16)
    e = kinds >> 10 & 0x1F
    assert np.sum((e == 0) & (kinds & 0x3FF != 0)) > 200 and np.sum(e == 31) > 200


def test_leading_one_index_for_every_width_up_to_nine_and_the_product_width():
    widths = list(range(1, 10)) + [DP.out_bits + 11]
    rng = np.random.default_rng(5)
    for n in widths:
        m = Module()
        v, idx = Signal(n), Signal(8)
        m.d.comb += idx.eq(leading_one(v))
        values = list(range(1, 1 << n)) if n < 10 else \
            [1 << i for i in range(n)] + [int(x) >> int(s) | 1 << int(s2) for x, s, s2 in
                                            zip(rng.integers(1, 1 << 62, 300),
                                                rng.integers(0, 62, 300), rng.integers(0, n, 300))]
        values = [x & ((1 << n) - 1) or 1 for x in values]
        got = []

        async def bench(ctx):
            for x in values:
                ctx.set(v, x)
                got.append(ctx.get(idx))

        sim = Simulator(m)
        sim.add_testbench(bench)
        sim.run()
        assert got == [x.bit_length() - 1 for x in values], n


def test_sign_magnitude_of_the_output_accumulator_over_its_extremes():
    """The output unit's (sign, |mant|) ahead of the conversion, at out_bits: the most negative
    value's magnitude fits the same width unsigned."""
    m = Module()
    mant = Signal(signed(DP.out_bits))
    sign, mag = Signal(), Signal(DP.out_bits)
    s, a = sign_magnitude(mant)
    m.d.comb += [sign.eq(s), mag.eq(a)]
    rng = np.random.default_rng(4)
    values = [0, 1, -1, OUT - 1, -OUT, -OUT + 1] + [int(x) for x in rng.integers(-OUT, OUT, 200)]
    got = []

    async def bench(ctx):
        for x in values:
            ctx.set(mant, x)
            got.append((ctx.get(sign), ctx.get(mag)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert got == [(int(x < 0), abs(x)) for x in values]

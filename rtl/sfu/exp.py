"""The SFU's exp unit ``E(t)`` for ``t <= 0`` (docs/numerics.md "exp"), built from rtl/fp units.

Every step of golden.ops.expo.exp_nonpos is one unit and one register; the 65-entry table and
the constants are the bit patterns golden generates (``expo.TABLE_BITS``, ``CONSTANT_BITS``),
never re-derived here.
"""
from __future__ import annotations

from functools import partial

from amaranth.hdl import Array, Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.ops import expo
from .params import SfuParams
from .timing import Stages, Timed, unit, step as timed_step

ONE = 0x3F800000
SIXTY_FOUR = 0x42800000
ONE_64TH = 0x3C800000            # 2^-6: j/64 is exact as j * 2^-6 (small integer j)
FLUSH_MAGNITUDE = 0x42FA0000     # 125.0: y < -125 flushes to +0
NAN = 0x7FC00000


def _bits(a) -> int:
    return int(a)


class ExpUnit(wiring.Component):
    """``y = E(t)`` on binary32 bit patterns, for ``t <= 0`` or NaN (a positive ``t`` gives an
    unspecified result: the SFU only feeds it masked-out elements, whose result it discards).

    Ports: In ``t`` (32), Out ``y`` (32).
    Timing: free-running pipeline, the result of ``t`` applied in cycle c is on ``y`` in cycle
    c + ``latency``; one argument per cycle. Every elementary operation (7 multiplications,
    5 additions, 4 conversions, the special-case select) is a unit of ``params`` followed by one
    register: ``latency = 7 mul + 5 add + 4 conv + 17`` in the units' latencies (17 cycles when
    they are combinational).
    """

    def __init__(self, params: SfuParams = SfuParams()):
        self.params = params
        super().__init__({"t": In(32), "y": Out(32)})

    @property
    def latency(self) -> int:
        p = self.params
        return 7 * p.mul_stages + 5 * p.add_stages + 4 * p.conv_stages + 17

    def elaborate(self, platform):
        m = Module()
        s = Stages(m, "exp")
        p = self.params
        c1, c2, c3, log2e = (_bits(b) for b in expo.CONSTANT_BITS)

        step = partial(timed_step, s, m)            # (name, unit, stage, **inputs) -> Timed

        def mul(name, a: Timed, b) -> Timed:
            return step(name, p.mul(), a.at, a=a.value, b=b)

        def add(name, a: Timed, b) -> Timed:
            return step(name, p.add(), a.at, a=a.value, b=b)

        def sub(name, a: Timed, b: Timed) -> Timed:
            at = max(a.at, b.at)
            return step(name, p.add(), at, a=s.at(a, at), b=s.at(b, at) ^ (1 << 31))

        t = Timed(self.t, 0)
        y = mul("log2e", t, log2e)
        nan = y.value[23:31].all() & y.value[:23].any()
        flush = y.value[31] & (y.value[:31] > FLUSH_MAGNITUDE)           # y < -125, incl. -inf
        special_nan = s.reg(nan, y.at, "nan")
        special_flush = s.reg(flush & ~nan, y.at, "flush")
        y0 = s.reg(Mux(nan | flush, 0, y.value), y.at, "y0")
        k = step("rint_k", p.rint(), y0.at, a=y0.value)                    # int
        kf = step("float_k", p.to_f32(), k.at, a=k.value)
        fr = sub("frac", y0, kf)                                         # y - k (exact)
        f64 = mul("times64", fr, SIXTY_FOUR)
        j = step("rint_j", p.rint(), f64.at, a=f64.value)                  # int
        jf = step("float_j", p.to_f32(), j.at, a=j.value)
        j64 = mul("over64", jf, ONE_64TH)
        r = sub("rem", fr, j64)                                          # f - j/64 (exact)
        p3 = mul("p3", r, c3)
        p2 = add("p2", p3, c2)
        q2 = mul("q2", p2, s.at(r, p2.at))                               # r * (...)
        p1 = add("p1", q2, c1)
        q1 = mul("q1", p1, s.at(r, p1.at))
        p0 = add("p0", q1, ONE)
        table = Array(Const(_bits(b), 32) for b in expo.TABLE_BITS)
        # looked up as soon as j is there, registered: the ROM is not in front of the multiplier
        tj = s.reg(table[(j.value[:7] + 32)[:7]], j.at, "tj")
        times = unit(m, "times_t", p.mul(), a=s.at(tj, p0.at), b=p0.value)
        at = p0.at + times.latency
        # e * 2^k: e is normal in [2^-1/2 (1 - 2^-20), 2) and k in [-125, 0]: add k to the field
        scaled = (times.y + (s.at(k, at)[:9] << 23))[:32]
        out = Mux(s.at(special_nan, at), NAN, Mux(s.at(special_flush, at), 0, scaled))
        m.d.sync += self.y.eq(out)
        assert at + 1 == self.latency, (at + 1, self.latency)
        return m

"""The SFU's exp unit ``E(t)`` for ``t <= 0`` (docs/numerics.md "exp"), built from rtl/fp units.

Every step of golden.ops.expo.exp_nonpos is one unit and one register; the 65-entry table and
the constants are the bit patterns golden generates (``expo.TABLE_BITS``, ``CONSTANT_BITS``),
never re-derived here.
"""
from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.ops import expo
from ..fp import F32Rint, Fp32Add, Fp32Mul, I32ToF32
from .timing import Stages, Timed, unit

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
    c + ``latency`` (one register per elementary operation: 17 cycles); one argument per cycle.
    """

    def __init__(self):
        super().__init__({"t": In(32), "y": Out(32)})

    @property
    def latency(self) -> int:
        return 17

    def elaborate(self, platform):
        m = Module()
        s = Stages(m, "exp")
        c1, c2, c3, log2e = (_bits(b) for b in expo.CONSTANT_BITS)

        def mul(name, a: Timed, b, at: int) -> Timed:
            u = unit(m, name, Fp32Mul(), a=s.at(a, at), b=b)
            return s.reg(u.y, at, name)

        def add(name, a, b, at: int) -> Timed:
            u = unit(m, name, Fp32Add(), a=a, b=b)
            return s.reg(u.y, at, name)

        t = Timed(self.t, 0)
        y = mul("log2e", t, log2e, 0)                                    # stage 1
        nan = y.value[23:31].all() & y.value[:23].any()
        flush = y.value[31] & (y.value[:31] > FLUSH_MAGNITUDE)           # y < -125, incl. -inf
        special_nan = s.reg(nan, 1, "nan")
        special_flush = s.reg(flush & ~nan, 1, "flush")
        y0 = s.reg(Mux(nan | flush, 0, y.value), 1, "y0")               # stage 2
        k = s.reg(unit(m, "rint_k", F32Rint(), a=y0.value).y, 2, "k")    # stage 3 (int)
        kf = s.reg(unit(m, "float_k", I32ToF32(), a=k.value).y, 3, "kf")  # stage 4
        fr = add("frac", s.at(y0, 4), kf.value ^ (1 << 31), 4)           # 5: y - k (exact)
        f64 = mul("times64", fr, SIXTY_FOUR, 5)                          # 6
        j = s.reg(unit(m, "rint_j", F32Rint(), a=f64.value).y, 6, "j")   # 7 (int)
        jf = s.reg(unit(m, "float_j", I32ToF32(), a=j.value).y, 7, "jf")  # 8
        j64 = mul("over64", jf, ONE_64TH, 8)                             # 9
        r = add("rem", s.at(fr, 9), j64.value ^ (1 << 31), 9)            # 10: f - j/64 (exact)
        p3 = mul("p3", r, c3, 10)                                        # 11
        p2 = add("p2", p3.value, c2, 11)                                 # 12
        q2 = mul("q2", p2, s.at(r, 12), 12)                              # 13 (r * (...))
        p1 = add("p1", q2.value, c1, 13)                                 # 14
        q1 = mul("q1", p1, s.at(r, 14), 14)                              # 15
        p = add("p0", q1.value, ONE, 15)                                 # 16
        table = Array(Const(_bits(b), 32) for b in expo.TABLE_BITS)
        tj = table[(s.at(j, 16)[:7] + 32)[:7]]
        e = unit(m, "times_t", Fp32Mul(), a=tj, b=p.value).y             # stage 16, combinational
        # e * 2^k: e is normal in [2^-1/2 (1 - 2^-20), 2) and k in [-125, 0]: add k to the field
        scaled = (e + (s.at(k, 16)[:9] << 23))[:32]
        out = Mux(s.at(special_nan, 16), NAN, Mux(s.at(special_flush, 16), 0, scaled))
        m.d.sync += self.y.eq(out)                                       # stage 17
        return m

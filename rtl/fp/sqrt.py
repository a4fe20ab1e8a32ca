"""binary32 square root: ``√a`` (docs/numerics.md), correctly rounded (RNE), iterative."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, clz, round_pack, unpack
from .iterative import Iterative

DIGITS = 27            # root bits: 26 for the rounding (24 + round + one for the range) + 1


class Fp32Sqrt(Iterative):
    """``y = √a`` on binary32 bit patterns, correctly rounded.

    Ports: In ``start``, In ``a`` (32); Out ``busy``, Out ``done`` (pulse), Out ``y`` (32).
    Timing: see :class:`Iterative`; ``latency = ceil(27 / bits_per_cycle) + 1 + stages``
    (28 by default).

    Specials (IEEE): ``√±0 = ±0``, ``√+inf = +inf``, NaN and every negative nonzero operand
    (incl. -inf) give 0x7FC00000.

    Algorithm: a subnormal operand is normalized by a leading-zero count when loaded; the 24-bit
    significand ``m`` (``a = m * 2^e``) is doubled when ``e`` is odd so the exponent halves
    exactly, and the integer square root of ``R = (m or 2m) * 2^(2 * rbits - 26)`` (``rbits``
    root bits) is taken by the restoring digit-by-digit recurrence, ``bits_per_cycle`` root bits
    per cycle; the final remainder is the sticky bit for the one rounding (:func:`round_pack`).
    Results are always normal.
    """

    def __init__(self, bits_per_cycle: int = 1, stages: int = 0):
        super().__init__(Signature({"start": In(1), "a": In(32), "busy": Out(1), "done": Out(1),
                                    "y": Out(32)}), DIGITS, bits_per_cycle, stages)

    def elaborate(self, platform):
        m = Module()
        load, step = self.control(m)
        rbits = self.iterations * self.bits_per_cycle     # root bits computed (>= 27)
        pipe = Pipe(m, self.stages, 1, "sqrt")
        a = unpack(self.a)
        lead = pipe.wire(clz(a.sig), "lead")

        half_exp = Signal(signed(10))
        radicand = Signal(2 * rbits)      # radicand bits still to enter, two per step, top first
        rem, root = Signal(rbits + 2), Signal(rbits)
        is_special, word = Signal(), Signal(32)
        e = pipe.wire(a.exp - lead - F32.bias - 23, "unbiased")       # a = mant * 2^e
        odd = e[0]
        mant = (a.sig << lead)[:24]
        nan = a.nan | (a.sign & ~a.zero)
        # one iteration: bits_per_cycle restoring steps
        r, q, x = rem, root, radicand
        for i in range(self.bits_per_cycle):
            r = Cat(x[-2:], r)[:rbits + 2]
            trial = Cat(Const(1, 2), q)
            ge = pipe.wire(r >= trial, f"ge{i}")
            r = pipe.wire(Mux(ge, r - trial, r)[:rbits + 2], f"rem{i}")
            q = Cat(ge, q)[:rbits]
            x = Cat(Const(0, 2), x[:-2])
        with m.If(load):
            m.d.sync += [
                half_exp.eq((e - odd) >> 1),
                # R = R0 * 2^(2j) (below): R0 = mant or 2 mant, its top pair of bits enters first
                radicand.eq(Cat(Const(0, 2 * rbits - 26), Mux(odd, Cat(Const(0, 1), mant),
                                                                Cat(mant, Const(0, 1))))),
                rem.eq(0), root.eq(0),
                is_special.eq(nan | a.zero | a.inf),
                word.eq(Mux(nan, F32.qnan, Mux(a.inf, F32.inf(0), Cat(Const(0, 31), a.sign)))),
            ]
        with m.Elif(step):
            m.d.sync += [rem.eq(r), root.eq(q), radicand.eq(x)]

        # R = R0 * 2^(2j), R0 = m or 2m in [2^23, 2^25), j = rbits - 13: the root lies in
        # [2^(rbits-1.5), 2^(rbits-0.5)), its top bit at rbits-1 or rbits-2;
        # √a = root * 2^(half-j)
        top = root[-1]
        sig = Mux(top, root[rbits - 26:], root[rbits - 27:rbits - 1])
        low = Mux(top, root[:rbits - 26] != 0, root[:rbits - 27] != 0) if rbits > 27 \
            else top & root[0]
        exp = half_exp + F32.bias + Mux(top, 12, 11)
        # a root lies in [2^-75, 2^64): always normal, so the rounding needs no subnormal shift
        packed, _ = round_pack(pipe, 0, exp, sig, (rem != 0) | low, shift=Const(0, 1))
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m

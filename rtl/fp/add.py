"""binary32 adder: ``a ⊕ b`` (docs/numerics.md), IEEE-754 RNE, subnormals honoured."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, Pipelined, clz, round_pack, special, unpack

GUARD = 3                      # guard, round and sticky bit below the 24-bit significand
WIDTH = 24 + GUARD


class Fp32Add(Pipelined):
    """``y = a ⊕ b`` on binary32 bit patterns (subtract: flip ``b[31]``). NaN out is 0x7FC00000.

    Ports: In ``a`` (32), In ``b`` (32), Out ``y`` (32).
    Timing: free-running; the result of inputs applied in cycle t is on ``y`` in cycle
    t + ``latency`` (``latency == stages``; 0 is combinational). Register cut points: after the
    alignment shift, after the normalization shift, before the rounding increment.

    Algorithm: order the operands by magnitude, align the smaller significand with three extra
    bits (guard, round, sticky: exact enough for RNE, as the cancellation of more than one bit only
    happens for exponent differences <= 1 where nothing is shifted out), add or subtract,
    normalize with a leading-zero count, round once (:func:`round_pack`).
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "b": In(32), "y": Out(32)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, 3, "add")
        swap = self.b[:31] > self.a[:31]
        x = unpack(Mux(swap, self.b, self.a))           # the larger magnitude
        z = unpack(Mux(swap, self.a, self.b))
        sub = x.sign ^ z.sign
        nan = x.nan | z.nan | (x.inf & z.inf & sub)      # inf - inf
        is_special, word = special(F32, nan, x.inf | z.inf, x.sign)

        dist = x.exp - z.exp                             # >= 0 since |x| >= |z|
        dist = Mux(dist > WIDTH, WIDTH, dist)[:5]
        wide = pipe.wire(Cat(Const(0, WIDTH), Const(0, GUARD), z.sig) >> dist, "align")
        z_sig = Cat(wide[WIDTH] | (wide[:WIDTH] != 0), wide[WIDTH + 1:])
        x_sig = Cat(Const(0, GUARD), x.sig)
        sign, exp, x_sig, z_sig, sub, is_special, word = pipe.cut(
            x.sign, x.exp, x_sig, z_sig, sub, is_special, word)

        total = pipe.wire(Mux(sub, x_sig - z_sig, x_sig + z_sig)[:WIDTH + 1], "total")
        lead = pipe.wire(clz(total), "lead")
        norm = (total << lead)[:WIDTH + 1]
        exp = exp + 1 - lead                             # signed: may go below 1
        sign = Mux(sub & (total == 0), 0, sign)          # x + (-x) = +0 under RNE
        sign, exp, norm, is_special, word = pipe.cut(sign, exp, norm, is_special, word)

        packed, (is_special, word) = round_pack(pipe, sign, exp, norm, carry=(is_special, word))
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m

"""binary32 adder: ``a ⊕ b`` (docs/numerics.md), IEEE-754 RNE, subnormals honoured."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Value
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, Pipelined, clz, denorm_shift, round_pack, special, unpack

GUARD = 3                      # guard, round and sticky bit below the 24-bit significand
WIDTH = 24 + GUARD
# register cut points (round_pack's included), the most useful first: four ranks at 0 2 3 5
# leave no stage above 8.6 ns on an ECP5 (docs/rtl/sfu.md "Pipelining")
CUT_ORDER = (2, 5, 0, 3, 1, 4)


class Fp32Add(Pipelined):
    """``y = a ⊕ b`` on binary32 bit patterns (subtract: flip ``b[31]``). NaN out is 0x7FC00000.

    Ports: In ``a`` (32), In ``b`` (32), Out ``y`` (32).
    Timing: free-running; the result of inputs applied in cycle t is on ``y`` in cycle
    t + ``latency`` (``latency == stages``; 0 is combinational). Register cut points, in order:
    after the magnitude compare (operands ordered, distance clamped), after the alignment shift,
    after the add, after the leading-zero count, after the normalization shift, before the
    rounding increment; ``stages`` ranks fill them in the order of ``CUT_ORDER`` (:class:`Pipe`).

    Algorithm: order the operands by magnitude, align the smaller significand with three extra
    bits (guard, round, sticky: exact enough for RNE, as the cancellation of more than one bit only
    happens for exponent differences <= 1 where nothing is shifted out), add or subtract,
    normalize with a leading-zero count, round once (:func:`round_pack`).
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "b": In(32), "y": Out(32)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, len(CUT_ORDER), "add", CUT_ORDER)
        swap = self.b[:31] > self.a[:31]
        x = unpack(Mux(swap, self.b, self.a))           # the larger magnitude
        z = unpack(Mux(swap, self.a, self.b))
        sub = x.sign ^ z.sign
        nan = x.nan | z.nan | (x.inf & z.inf & sub)      # inf - inf
        is_special, word = special(F32, nan, x.inf | z.inf, x.sign)
        # |x| - |z|'s exponent distance, clamped: both orders side by side with the magnitude
        # compare, which then only picks one (a subtraction behind the compare is a second
        # carry chain in the stage)
        ea, eb = unpack(self.a).exp, unpack(self.b).exp
        dist = Mux(swap, _clamped(eb - ea), _clamped(ea - eb))
        sign, exp, x_sig, z_sig, dist, sub, is_special, word = pipe.cut(
            x.sign, x.exp, x.sig, z.sig, dist, sub, is_special, word)

        wide = pipe.wire(Cat(Const(0, WIDTH), Const(0, GUARD), z_sig) >> dist, "align")
        z_sig = Cat(wide[WIDTH] | (wide[:WIDTH] != 0), wide[WIDTH + 1:])
        x_sig = Cat(Const(0, GUARD), x_sig)
        sign, exp, x_sig, z_sig, sub, is_special, word = pipe.cut(
            sign, exp, x_sig, z_sig, sub, is_special, word)

        total = pipe.wire(Mux(sub, x_sig - z_sig, x_sig + z_sig)[:WIDTH + 1], "total")
        sign, exp, total, sub, is_special, word = pipe.cut(sign, exp, total, sub, is_special, word)

        lead = pipe.wire(clz(total), "lead")
        sign, exp, total, lead, sub, is_special, word = pipe.cut(
            sign, exp, total, lead, sub, is_special, word)

        norm = (total << lead)[:WIDTH + 1]
        exp = exp + 1 - lead                             # signed: may go below 1
        sign = Mux(sub & (total == 0), 0, sign)          # x + (-x) = +0 under RNE
        shift = denorm_shift(exp, WIDTH + 1)             # beside the normalization shift
        sign, exp, norm, shift, is_special, word = pipe.cut(
            sign, exp, norm, shift, is_special, word)

        packed, (is_special, word) = round_pack(pipe, sign, exp, norm, carry=(is_special, word),
                                                shift=shift)
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m


def _clamped(dist: Value) -> Value:
    """An exponent distance (non-negative where it is used) capped at ``WIDTH``, 5 bits: beyond,
    every bit of the smaller significand is sticky."""
    return Mux(dist > WIDTH, WIDTH, dist)[:5]

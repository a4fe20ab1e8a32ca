"""binary32 multiplier: ``a ⊗ b`` (docs/numerics.md), IEEE-754 RNE, never fused."""
from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, Pipelined, clz, round_pack, special, unpack


class Fp32Mul(Pipelined):
    """``y = a ⊗ b`` on binary32 bit patterns; NaN out is 0x7FC00000, ``0 ⊗ inf`` is NaN.

    Ports: In ``a`` (32), In ``b`` (32), Out ``y`` (32).
    Timing: free-running, ``latency == stages`` (0: combinational). Cut points: after the 24x24
    product, after the normalization shift, before the rounding increment.

    Algorithm: exact 48-bit product of the significands (subnormal operands enter with their
    leading zeros), normalize by a leading-zero count, round once (:func:`round_pack`), which
    also forms subnormal results and overflow to inf.
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "b": In(32), "y": Out(32)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, 3, "mul")
        a, b = unpack(self.a), unpack(self.b)
        sign = a.sign ^ b.sign
        nan = a.nan | b.nan | (a.inf & b.zero) | (a.zero & b.inf)
        is_special, word = special(F32, nan, a.inf | b.inf, sign)
        prod = a.sig * b.sig                              # 48 bits, exact
        exp = a.exp + b.exp - (F32.bias - 1)              # biased exponent if prod[47] is set
        sign, exp, prod, is_special, word = pipe.cut(sign, exp, prod, is_special, word)

        lead = pipe.wire(clz(prod), "lead")
        norm = (prod << lead)[:48]
        exp = exp.as_signed() - lead
        sign, exp, norm, is_special, word = pipe.cut(sign, exp, norm, is_special, word)

        packed, (is_special, word) = round_pack(pipe, sign, exp, norm, carry=(is_special, word))
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m

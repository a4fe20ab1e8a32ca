"""binary32 multiplier: ``a ⊗ b`` (docs/numerics.md), IEEE-754 RNE, never fused."""
from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, Pipelined, clz, denorm_shift, round_pack, special, unpack

SPLIT = 18                       # a hard multiplier's operand width (ECP5 MULT18X18D, DSP48 B)
# cut points, the most useful first: four ranks at 1 2 3 5 split product, sum, count and shifts;
# a sixth registers the unpacked operands in front of the hard multipliers
CUT_ORDER = (2, 5, 1, 3, 4, 0)


class Fp32Mul(Pipelined):
    """``y = a ⊗ b`` on binary32 bit patterns; NaN out is 0x7FC00000, ``0 ⊗ inf`` is NaN.

    Ports: In ``a`` (32), In ``b`` (32), Out ``y`` (32).
    Timing: free-running, ``latency == stages`` (0: combinational). Cut points: after the
    operands' unpack (the sixth rank: the multipliers' inputs come straight from registers),
    after the partial products, after their sum (the 48-bit product), after the leading-zero
    count, after the normalization shift, before the rounding increment; ``stages`` ranks fill
    them in the order of ``CUT_ORDER`` (:class:`Pipe`).

    Algorithm: exact 48-bit product of the significands (subnormal operands enter with their
    leading zeros), normalize by a leading-zero count, round once (:func:`round_pack`), which
    also forms subnormal results and overflow to inf. With a rank after the partial products
    the product is formed as four ``18 x 18``-or-smaller products (one hard multiplier each on
    an ECP5 or a DSP48) summed in the next stage: the hard multiplier and the adders behind it
    do not fit one 10 ns cycle together on an ECP5 (docs/rtl/sfu.md "Pipelining").
    """

    def __init__(self, stages: int = 0):
        super().__init__(Signature({"a": In(32), "b": In(32), "y": Out(32)}), stages)

    def elaborate(self, platform):
        m = Module()
        pipe = Pipe(m, self.latency, len(CUT_ORDER), "mul", CUT_ORDER)
        a, b = unpack(self.a), unpack(self.b)
        sign = a.sign ^ b.sign
        nan = a.nan | b.nan | (a.inf & b.zero) | (a.zero & b.inf)
        is_special, word = special(F32, nan, a.inf | b.inf, sign)
        exp = a.exp + b.exp - (F32.bias - 1)              # biased exponent if prod[47] is set
        a_sig, b_sig, sign, exp, is_special, word = pipe.cut(
            a.sig, b.sig, sign, exp, is_special, word)
        if pipe.ranks[1]:                                 # a register behind the multipliers
            al, ah, bl, bh = a_sig[:SPLIT], a_sig[SPLIT:], b_sig[:SPLIT], b_sig[SPLIT:]
            parts = (al * bl, al * bh, ah * bl, ah * bh)
        else:
            parts = (a_sig * b_sig,)
        sign, exp, *parts, is_special, word = pipe.cut(sign, exp, *parts, is_special, word)

        if len(parts) == 4:
            ll, lh, hl, hh = parts
            parts = (ll + ((lh + hl) << SPLIT) + (hh << 2 * SPLIT),)
        prod = pipe.wire(parts[0][:48], "prod")           # 48 bits, exact
        sign, exp, prod, is_special, word = pipe.cut(sign, exp, prod, is_special, word)

        lead = pipe.wire(clz(prod), "lead")
        sign, exp, prod, lead, is_special, word = pipe.cut(sign, exp, prod, lead, is_special, word)

        norm = (prod << lead)[:48]
        exp = exp.as_signed() - lead
        shift = denorm_shift(exp, 48)                     # beside the normalization shift
        sign, exp, norm, shift, is_special, word = pipe.cut(
            sign, exp, norm, shift, is_special, word)

        packed, (is_special, word) = round_pack(pipe, sign, exp, norm, carry=(is_special, word),
                                                shift=shift)
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m

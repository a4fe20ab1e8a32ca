"""binary32 divider: ``a ⊘ b`` (docs/numerics.md), correctly rounded (RNE), iterative."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib.wiring import In, Out, Signature

from .fields import F32, Pipe, clz, denorm_shift, round_pack, unpack
from .iterative import Iterative

DIGITS = 28            # quotient bits: 24 + round bit + one for the [1/2, 2) range + one spare


class Fp32Div(Iterative):
    """``y = a ⊘ b`` on binary32 bit patterns, correctly rounded, subnormal results rounded.

    Ports: In ``start``, In ``a`` (32), In ``b`` (32); Out ``busy``, Out ``done`` (pulse),
    Out ``y`` (32). Timing: see :class:`Iterative`;
    ``latency = ceil(28 / bits_per_cycle) + 1 + stages`` (29 cycles by default).

    Specials (IEEE): NaN operand, ``0/0`` and ``inf/inf`` give 0x7FC00000; ``x/0`` (x != 0) and
    ``inf/x`` give ±inf; ``0/x`` and ``x/inf`` give ±0.

    Algorithm: subnormal operands are normalized by a leading-zero count when loaded; restoring
    radix-2 division of the 24-bit significands, ``bits_per_cycle`` quotient bits per cycle
    (``ceil(28 / bits_per_cycle)`` iterations); the final remainder is the sticky bit, so the one
    rounding (:func:`round_pack`) is exact.
    """

    def __init__(self, bits_per_cycle: int = 1, stages: int = 0):
        super().__init__(Signature({"start": In(1), "a": In(32), "b": In(32), "busy": Out(1),
                                    "done": Out(1), "y": Out(32)}), DIGITS, bits_per_cycle, stages)

    def elaborate(self, platform):
        m = Module()
        load, step = self.control(m)
        qbits = self.iterations * self.bits_per_cycle
        pipe = Pipe(m, self.stages, 1, "div")
        a, b = unpack(self.a), unpack(self.b)
        lead_a, lead_b = pipe.wire(clz(a.sig), "lead_a"), pipe.wire(clz(b.sig), "lead_b")

        sign, exp = Signal(), Signal(signed(12))
        rem, divisor, quot = Signal(26), Signal(24), Signal(qbits)
        is_special, word = Signal(), Signal(32)
        # one iteration: bits_per_cycle restoring steps
        r, q = rem, quot
        for i in range(self.bits_per_cycle):
            ge = r >= divisor
            q = Cat(ge, q[:-1])
            r = pipe.wire(Cat(Const(0, 1), Mux(ge, r - divisor, r))[:26], f"rem{i}")
        with m.If(load):
            nan = a.nan | b.nan | (a.zero & b.zero) | (a.inf & b.inf)
            inf = a.inf | b.zero
            zero = a.zero | b.inf
            s = a.sign ^ b.sign
            m.d.sync += [
                sign.eq(s),
                exp.eq((a.exp - lead_a) - (b.exp - lead_b) + F32.bias),
                rem.eq((a.sig << lead_a)[:24]), divisor.eq((b.sig << lead_b)[:24]), quot.eq(0),
                is_special.eq(nan | inf | zero),
                word.eq(Mux(nan, F32.qnan, Mux(inf, F32.inf(s), Cat(Const(0, 31), s)))),
            ]
        with m.Elif(step):
            m.d.sync += [rem.eq(r), quot.eq(q)]

        # quot = floor(ma * 2^(qbits-1) / mb), ma/mb in (1/2, 2): its top bit is at qbits-1 or -2
        top = quot[-1]
        sig = Mux(top, quot[qbits - 27:], quot[qbits - 28:qbits - 1])
        sticky = (rem != 0) | Mux(top, quot[:qbits - 27] != 0, quot[:qbits - 28] != 0) \
            if qbits > 28 else (rem != 0) | (top & quot[0])
        # exp holds from the cycle after the load: the two exponents the quotient's top bit
        # chooses between, and their subnormal shifts, are registers valid from two cycles
        # after the load (by the time the quotient is, at one iteration), so the rounding
        # starts from a select instead of exponent arithmetic
        exp_lo = Signal.like(exp)
        shift_hi, shift_lo = (Signal(range(len(sig) + 2), name=n)
                              for n in ("shift_hi", "shift_lo"))
        m.d.sync += [exp_lo.eq(exp - 1), shift_hi.eq(denorm_shift(exp, len(sig))),
                     shift_lo.eq(denorm_shift(exp - 1, len(sig)))]
        packed, _ = round_pack(pipe, sign, Mux(top, exp, exp_lo), sig, sticky,
                               shift=Mux(top, shift_hi, shift_lo))
        m.d.comb += self.y.eq(Mux(is_special, word, packed))
        return m

"""One bit-serial lane: fp16 activation x one weight term, aligned to the cycle's max exponent."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial import Datapath
from ...golden.bitserial.params import FP16_FRAC
from .params import ACT_BITS, SHIFT_BITS


class Lane(wiring.Component):
    """exp_match + bs_mul of BitMoD's PE (docs/references.md#bitmod-2.3), as
    golden.bitserial.lane_cycle.

    Ports:
      - ``act: In(16)``: fp16 bit pattern (subnormals: exponent 1, no hidden bit).
      - ``valid, neg: In(1)``, ``shift: In(SHIFT_BITS)``: the weight term of this cycle.
      - ``live: Out(1)``: non-zero activation and a term present (takes part in the max).
      - ``exp: Out(exp_bits)``: product exponent = activation exponent + term shift.
      - ``e_max: In(exp_bits)``: the max ``exp`` over the PE's live lanes.
      - ``aligned: Out(signed(lane_bits))``: ``±(sig << guard) >> (e_max - exp)`` (floor), 0 when
        not live.
    Timing: combinational (:attr:`latency` = 0).
    """

    latency = 0

    def __init__(self, dp: Datapath):
        self.dp = dp
        super().__init__({"act": In(ACT_BITS), "valid": In(1), "neg": In(1),
                          "shift": In(SHIFT_BITS), "live": Out(1), "exp": Out(dp.exp_bits),
                          "e_max": In(dp.exp_bits), "aligned": Out(signed(dp.lane_bits))})

    def elaborate(self, platform):
        m = Module()
        dp = self.dp
        frac, e, sign = self.act[:FP16_FRAC], self.act[FP16_FRAC:15], self.act[15]
        sig = Signal(FP16_FRAC + 1)
        m.d.comb += sig.eq(Mux(e.any(), Cat(frac, 1), frac))
        m.d.comb += [self.live.eq(self.valid & (sig != 0)),
                     self.exp.eq(Mux(e.any(), e, 1) + self.shift)]
        value = Signal(signed(dp.lane_bits))
        scaled = sig << dp.guard_bits
        m.d.comb += value.eq(Mux(sign ^ self.neg, -scaled, scaled))
        dist = Signal(dp.exp_bits)        # e_max >= exp for a live lane, so no wrap-around
        m.d.comb += dist.eq(self.e_max - self.exp)
        m.d.comb += self.aligned.eq(Mux(self.live, value >> dist, 0))
        return m

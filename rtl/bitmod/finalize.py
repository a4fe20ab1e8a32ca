"""Output conversion of a finished dot product to fp16: golden.bitserial.output.finalize."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial import Datapath
from ...golden.bitserial.output import FP16_INF, FP16_MIN_LSB
from ...golden.bitserial.params import FP16_BIAS, FP16_EXP_MAX, FP16_FRAC, FP16_SIG_BITS
from .params import FINALIZE_LATENCY, FP16_BITS, UNIT_SHIFT_BITS

# Largest left shift of the product (a 1-bit product normalized to 11 bits); the product is
# pre-shifted by it so that every rounding is one right shift.
PRE_SHIFT = FP16_SIG_BITS - 1


class Finalize(wiring.Component):
    """``mant * 2**(exp - lsb_offset) * row_scale * 2**-unit_shift`` rounded once to fp16
    (round to nearest even, subnormals, overflow to inf), the integer algorithm of
    golden.bitserial.output in two pipeline stages:

    1. sign, the product ``M = |mant| * sig(row_scale)`` (out_bits x 11 bits) and its exponent;
    2. leading-one position of M, result LSB exponent ``max(E + L - 11, -24)``, one right shift
       with half and sticky bits, round to nearest even, renormalize a carry, encode (inf when
       the exponent field passes 30).

    Ports: ``en: In(1)`` (advance the pipeline), ``mant: In(signed(out_bits))``,
    ``exp: In(signed(out_exp_bits))``, ``row_scale: In(16)`` (fp16 bits, finite),
    ``unit_shift: In(UNIT_SHIFT_BITS)``, ``value: Out(16)`` (fp16 bits, a register).
    Timing: the inputs of a cycle with ``en`` high appear on ``value`` after two more cycles with
    ``en`` high (:attr:`latency` = 2); ``value`` holds while ``en`` is low. One conversion per
    cycle. An array has one per row (rtl/bitmod/output.py), not one per PE.
    """

    latency = FINALIZE_LATENCY

    def __init__(self, dp: Datapath):
        self.dp = dp
        super().__init__({"en": In(1), "mant": In(signed(dp.out_bits)),
                          "exp": In(signed(dp.out_exp_bits)), "row_scale": In(FP16_BITS),
                          "unit_shift": In(UNIT_SHIFT_BITS), "value": Out(FP16_BITS)})

    def elaborate(self, platform):
        m = Module()
        dp = self.dp
        mag_bits = dp.out_bits + FP16_SIG_BITS          # |mant| <= 2**(out_bits - 1)
        # exponent of M's bit 0: exp + exp(row_scale) - unit_shift - lsb_offset - 25, signed
        e_bits = dp.out_exp_bits + 3

        # stage 1: sign, product, exponent
        neg, mag, e = Signal(), Signal(mag_bits), Signal(signed(e_bits))
        rs_frac, rs_e = self.row_scale[:FP16_FRAC], self.row_scale[FP16_FRAC:FP16_BITS - 1]
        rs_sig = Mux(rs_e.any(), Cat(rs_frac, 1), rs_frac)
        magnitude = Mux(self.mant < 0, -self.mant, self.mant)[:dp.out_bits]
        with m.If(self.en):
            m.d.sync += [neg.eq(self.mant[-1] ^ self.row_scale[-1]), mag.eq(magnitude * rs_sig),
                         e.eq(self.exp + Mux(rs_e.any(), rs_e, 1) - self.unit_shift
                              - (dp.lsb_offset + FP16_BIAS + FP16_FRAC))]

        # stage 2: normalize, round, encode
        lead = Signal(range(mag_bits + 1))               # bit length of M (0 when M == 0)
        for i in range(mag_bits):
            with m.If(mag[i]):
                m.d.comb += lead.eq(i + 1)
        wide = signed(e_bits + 2)
        top, lsb = Signal(wide), Signal(wide)
        m.d.comb += [top.eq(e + lead - FP16_SIG_BITS),
                     lsb.eq(Mux(top < FP16_MIN_LSB, FP16_MIN_LSB, top))]
        ext = Cat(Const(0, PRE_SHIFT), mag)              # M << PRE_SHIFT
        shift, drop = Signal(range(len(ext) + 2)), Signal(wide)
        m.d.comb += [drop.eq(lsb - e + PRE_SHIFT),       # >= 0 unless M == 0
                     shift.eq(Mux(drop < 0, 0, Mux(drop > len(ext) + 1, len(ext) + 1, drop)))]
        # beyond the MSB everything is sticky: clamping the shift there changes nothing
        kept = Signal(FP16_SIG_BITS + 1)                 # below 2**11 by the choice of lsb
        half, sticky = Signal(), Signal()
        with_half = Cat(Const(0, 1), ext) >> shift       # bit 0: the bit just below the LSB
        below = Cat(*[shift > i + 1 for i in range(len(ext))])   # bits under the half bit
        m.d.comb += [kept.eq(with_half[1:]), half.eq(with_half[0]),
                     sticky.eq((ext & below).any())]
        rounded = Signal(FP16_SIG_BITS + 1)
        m.d.comb += rounded.eq(kept + (half & (sticky | kept[0])))
        carry = rounded[FP16_SIG_BITS]
        sig = Signal(FP16_SIG_BITS)
        final_lsb = Signal(wide)
        m.d.comb += [sig.eq(Mux(carry, rounded >> 1, rounded)), final_lsb.eq(lsb + carry)]
        field = Signal(wide)
        m.d.comb += field.eq(Mux(sig[FP16_FRAC], final_lsb - FP16_MIN_LSB + 1, 0))
        encoded = Mux(field > FP16_EXP_MAX, Const(FP16_INF, 15),
                      Cat(sig[:FP16_FRAC], field[:FP16_BITS - 1 - FP16_FRAC]))
        with m.If(self.en):
            m.d.sync += self.value.eq(Cat(encoded, neg))
        return m


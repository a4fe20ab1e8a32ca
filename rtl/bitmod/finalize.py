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


def leading_one(value):
    """Index of the leading one (don't care for zero) as a balanced tree of muxes: each level
    picks the upper half when it has a one and puts that choice in the index's next bit, so
    there is no adder anywhere (a priority chain would be len(value) deep)."""
    n = len(value)
    if n == 1:
        return Const(0, 0)
    k = (n - 1).bit_length() - 1
    lo_bits = 1 << k                                     # the lower half: a power of two
    hi = value[lo_bits:]                                 # 1 .. lo_bits wide: index < 2**k
    return Mux(hi.any(), Cat(_widen(leading_one(hi), k), Const(1, 1)),
               Cat(leading_one(value[:lo_bits]), Const(0, 1)))


def _widen(index, bits):
    return Cat(index, Const(0, bits - len(index)))


def sign_magnitude(mant):
    """(sign, ``|mant|``) of a signed value as :class:`Finalize` takes them; the magnitude has
    ``len(mant)`` bits (``|-2**(n-1)|`` fits unsigned)."""
    return mant[-1], Mux(mant[-1], -mant, mant)[:len(mant)]


class Finalize(wiring.Component):
    """``mant * 2**(exp - lsb_offset) * row_scale * 2**-unit_shift`` rounded once to fp16
    (round to nearest even, subnormals, overflow to inf), the integer algorithm of
    golden.bitserial.output in four pipeline stages:

    1. sign, the product ``M = |mant| * sig(row_scale)`` (out_bits x 11 bits) and its exponent
       (``mant`` comes as sign and magnitude, :func:`sign_magnitude`, formed by the output
       unit in its RAM read stage, so this stage holds the multiply and not the negation);
    2. leading-one index I of M (a log-depth mux tree), result LSB exponent
       ``max(E + I - 10, -24)`` and the shift distance, both selected by one compare;
    3. one right shift with half and sticky bits;
    4. round to nearest even, renormalize a carry, encode (inf when the exponent field passes
       30).

    Ports: ``en: In(1)`` (advance the pipeline), ``sign: In(1)`` and ``mag: In(out_bits)``
    (``mant``'s sign and ``|mant|``),
    ``exp: In(signed(out_exp_bits))``, ``row_scale: In(16)`` (fp16 bits, finite),
    ``unit_shift: In(UNIT_SHIFT_BITS)``, ``value: Out(16)`` (fp16 bits, a register).
    Timing: the inputs of a cycle with ``en`` high appear on ``value`` after :attr:`latency` (4)
    more cycles with ``en`` high; ``value`` holds while ``en`` is low. One conversion per
    cycle. An array has one per row (rtl/bitmod/output.py), not one per PE.
    """

    latency = FINALIZE_LATENCY

    def __init__(self, dp: Datapath):
        self.dp = dp
        super().__init__({"en": In(1), "sign": In(1), "mag": In(dp.out_bits),
                          "exp": In(signed(dp.out_exp_bits)), "row_scale": In(FP16_BITS),
                          "unit_shift": In(UNIT_SHIFT_BITS), "value": Out(FP16_BITS)})

    def elaborate(self, platform):
        m = Module()
        dp = self.dp
        mag_bits = dp.out_bits + FP16_SIG_BITS          # |mant| <= 2**(out_bits - 1)
        # exponent of M's bit 0: exp + exp(row_scale) - unit_shift - lsb_offset - 25, signed
        e_bits = dp.out_exp_bits + 3

        # stage 1: sign, product, exponent. With M's leading one at index I (stage 2), the
        # result's LSB exponent is max(base + I, FP16_MIN_LSB), base = E - (11 - 1), and the
        # right shift of M << PRE_SHIFT is max(I, k), k = FP16_MIN_LSB - base: both are taken
        # from one compare of I with k, so stage 1 computes base and k side by side.
        neg, mag = Signal(), Signal(mag_bits)
        base, k = Signal(signed(e_bits)), Signal(signed(e_bits))
        rs_frac, rs_e = self.row_scale[:FP16_FRAC], self.row_scale[FP16_FRAC:FP16_BITS - 1]
        rs_sig = Mux(rs_e.any(), Cat(rs_frac, 1), rs_frac)
        e = self.exp + Mux(rs_e.any(), rs_e, 1) - self.unit_shift
        e_offset = dp.lsb_offset + FP16_BIAS + FP16_FRAC + FP16_SIG_BITS - 1
        with m.If(self.en):
            m.d.sync += [neg.eq(self.sign ^ self.row_scale[-1]), mag.eq(self.mag * rs_sig),
                         base.eq(e - e_offset), k.eq(FP16_MIN_LSB + e_offset - e)]

        # stage 2: leading one, result LSB exponent, shift distance (a zero M's are don't care:
        # its kept bits, half and sticky are zero whatever the shift)
        ext_bits = PRE_SHIFT + mag_bits                  # M << PRE_SHIFT
        index = leading_one(mag)
        wide = signed(e_bits + 2)
        k_clamped = Mux(k > ext_bits + 1, ext_bits + 1, k)  # beyond the MSB everything is sticky
        normal = Signal()
        m.d.comb += normal.eq(index >= k)
        neg2, mag2 = Signal(), Signal(mag_bits)
        lsb2, shift2 = Signal(wide), Signal(range(ext_bits + 2))
        with m.If(self.en):
            m.d.sync += [neg2.eq(neg), mag2.eq(mag),
                         lsb2.eq(Mux(normal, base + index, FP16_MIN_LSB)),
                         shift2.eq(Mux(normal, index, k_clamped))]

        # stage 3: one right shift with the half and sticky bits
        ext = Cat(Const(0, PRE_SHIFT), mag2)
        with_half = Cat(Const(0, 1), ext) >> shift2      # bit 0: the bit just below the LSB
        below = Cat(*[shift2 > i + 1 for i in range(ext_bits)])   # bits under the half bit
        neg3, lsb3 = Signal(), Signal(wide)
        kept = Signal(FP16_SIG_BITS + 1)                 # below 2**11 by the choice of lsb
        half, sticky = Signal(), Signal()
        with m.If(self.en):
            m.d.sync += [neg3.eq(neg2), lsb3.eq(lsb2), kept.eq(with_half[1:]),
                         half.eq(with_half[0]), sticky.eq((ext & below).any())]

        # stage 4: round to nearest even, renormalize a carry, encode
        rounded = Signal(FP16_SIG_BITS + 1)
        m.d.comb += rounded.eq(kept + (half & (sticky | kept[0])))
        carry = rounded[FP16_SIG_BITS]
        sig = Signal(FP16_SIG_BITS)
        final_lsb = Signal(wide)
        m.d.comb += [sig.eq(Mux(carry, rounded >> 1, rounded)), final_lsb.eq(lsb3 + carry)]
        field = Signal(wide)
        m.d.comb += field.eq(Mux(sig[FP16_FRAC], final_lsb - FP16_MIN_LSB + 1, 0))
        encoded = Mux(field > FP16_EXP_MAX, Const(FP16_INF, 15),
                      Cat(sig[:FP16_FRAC], field[:FP16_BITS - 1 - FP16_FRAC]))
        with m.If(self.en):
            m.d.sync += self.value.eq(Cat(encoded, neg3))
        return m


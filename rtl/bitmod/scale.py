"""Per-row decoding of the stored scales of a weight chunk (golden.bitserial.weights)."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial import HW_FORMATS
from ...golden.bitserial.params import FP16_BIAS, FP16_FRAC
from ...golden.bitserial.weights import FP16_ONE
from .layouts import out_scale_layout
from .params import FMT_BITS, FP16_BITS, SCALE_EXP_BITS, EngineParams, unit_shift_of


class RowScaleDecode(wiring.Component):
    """The scale fields of one row's chunk as the PE datapaths and the output unit use them.

    One per array row (a row's chunk is shared along the row), so no PE decodes a scale.

    Ports:
      - ``scale: In(scale_field_bits)``, ``row_scale: In(16)``, ``fmt: In(FMT_BITS)``,
        ``fp16_scale: In(1)``: the stored group scale, the fp16 row scale, the datatype index
        and the scale mode of the chunk.
      - ``sig: Out(scale_int_bits)``, ``exp: Out(signed(6))``: the dequant integer and its
        exponent: int mode (q, 0); fp16 mode the per-level scale's 11-bit significand (no
        hidden bit when subnormal) and ``max(e, 1) - 25``, as golden's ``s_int``/``s_exp``.
      - ``out: Out(out_scale_layout)``: row scale and unit shift for the output conversion:
        int mode the stored row scale and the format's unit; fp16 mode 1.0 and unit 1 (the unit
        is folded into the per-level group scale).
    Timing: combinational. An fp16 scale with the exponent field 31 (inf/NaN, which golden
    refuses) decodes as exponent 6 and its significand; the sign bit is ignored.
    """

    latency = 0

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"scale": In(p.scale_field_bits), "row_scale": In(FP16_BITS),
                          "fmt": In(FMT_BITS), "fp16_scale": In(1),
                          "sig": Out(p.scale_int_bits), "exp": Out(signed(SCALE_EXP_BITS)),
                          "out": Out(out_scale_layout())})

    def elaborate(self, platform):
        m = Module()
        frac, e = self.scale[:FP16_FRAC], self.scale[FP16_FRAC:FP16_BITS - 1]
        fp_sig = Mux(e.any(), Cat(frac, 1), frac)
        fp_exp = Mux(e.any(), e, 1) - (FP16_BIAS + FP16_FRAC)
        m.d.comb += [self.sig.eq(Mux(self.fp16_scale, fp_sig, self.scale[:self.p.scale_bits])),
                     self.exp.eq(Mux(self.fp16_scale, fp_exp, 0))]
        unit = Signal.like(self.out.unit_shift)
        with m.Switch(self.fmt):
            for index, name in enumerate(HW_FORMATS):
                with m.Case(index):
                    m.d.comb += unit.eq(unit_shift_of(name))
        m.d.comb += [self.out.row_scale.eq(Mux(self.fp16_scale, FP16_ONE, self.row_scale)),
                     self.out.unit_shift.eq(Mux(self.fp16_scale, 0, unit))]
        return m

"""Requantize stage of the CSD MM/MV engine: one exact INT32 sum to one fp16 result in OUT.

docs/numerics.md "INT linear (CSD)" with one group per row (per-row weight scales):
``y = h((f(acc) ⊗ w_scale) ⊗ s_x)``, exactly ``golden.ops.int_matmul.requantize``, built from the
``rtl/fp`` units (I32ToF32, F16ToF32 for a dense tile's fp16 scale, two Fp32Mul, F32ToF16).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from ..fp import F16ToF32, F32ToF16, Fp32Mul, I32ToF32
from .buffers import write_port
from .csd_feeder import row_layout
from .params import TopParams

LINE = isa.LINE_BYTES
FP16_BYTES = 2


class RequantWriter(wiring.Component):
    """Ports: ``i`` In(stream of :func:`.csd_feeder.row_layout`); ``n`` In(16) (columns of the
    result) and ``o_addr`` In(line) of the instruction; ``wr`` Out(buffer write port): element
    ``(t, col)`` as the two bytes at ``o_addr * 16 + 2 (t n + col)`` of OUT; ``idle`` Out(1).
    One combinational Fp32Mul does both products in turn (it is the largest unit).
    Timing: one element every 3 cycles when OUT's write port is free (take, first product,
    second product and conversion; the write goes out in the third cycle)."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({"i": In(stream.Signature(row_layout())), "n": In(16),
                          "o_addr": In(params.line_addr_bits), "wr": Out(write_port(params)),
                          "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        p, x = self.params, self.i.payload
        to32 = m.submodules.to32 = I32ToF32()
        widen = m.submodules.widen = F16ToF32()
        mul = m.submodules.mul = Fp32Mul()
        to16 = m.submodules.to16 = F32ToF16()
        acc, ws, sx, prod = Signal(32), Signal(32), Signal(32), Signal(32)
        byte = Signal(p.line_addr_bits + 4 + 33)
        m.d.comb += [widen.a.eq(x.ws[:16]), to32.a.eq(acc), to16.a.eq(mul.y),
                     byte.eq(self.o_addr * LINE + (x.t * self.n + x.col) * FP16_BYTES)]
        line, lane = Signal(p.line_addr_bits), Signal(range(LINE // FP16_BYTES))
        w = self.wr
        m.d.comb += [w.buf.eq(isa.Buf.OUT), w.addr.eq(line),
                     w.data.eq(to16.y.replicate(LINE // FP16_BYTES)),
                     w.be.eq(0b11 << (lane * FP16_BYTES))]
        with m.FSM(name="requant"):
            with m.State("TAKE"):
                m.d.comb += [self.i.ready.eq(1), self.idle.eq(~self.i.valid)]
                with m.If(self.i.valid):
                    m.d.sync += [acc.eq(x.acc), ws.eq(Mux(x.wide, x.ws, widen.y)), sx.eq(x.sx),
                                 line.eq(byte >> 4), lane.eq(byte[1:4])]
                    m.next = "BY_W"
            with m.State("BY_W"):                       # f(acc) ⊗ w_scale
                m.d.comb += [mul.a.eq(to32.y), mul.b.eq(ws)]
                m.d.sync += prod.eq(mul.y)
                m.next = "BY_X"
            with m.State("BY_X"):                       # h(... ⊗ s_x), written at once
                m.d.comb += [mul.a.eq(prod), mul.b.eq(sx), w.valid.eq(1)]
                with m.If(w.ready):
                    m.next = "TAKE"
        return m

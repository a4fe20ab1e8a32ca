"""The SFU engine's result writer: the SFU's results in order to O (one fp16 or int8 element per
buffer write, byte enables), and REQUANT's binary32 row scale to B after the row's last code."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ....compiler.isa import MiscOp
from ...sfu.layouts import RESULT
from ..buffers import write_port
from ..decoder import layout, type_bits
from ..params import TopParams

LANES = isa.LINE_BYTES
ONE = 0x3F800000                # the scale of an empty REQUANT row (golden: max|x| = 0)


class ResultWriter(wiring.Component):
    """Ports: ``start`` In(1) pulse with ``instr`` In (the MISC words, held); ``i`` In(stream of
    :data:`RESULT`) from the SFU; ``wr`` Out(buffer write port); ``done`` Out(1): every result
    (and REQUANT scale) of the instruction is in its buffer (low from the cycle after ``start``;
    nothing is written outside that window).

    Timing: a result is written in the cycle it arrives (``i.ready`` is the write grant); a
    REQUANT row's scale takes one more write after its last code, during which ``i`` waits.
    REQUANT with ``cols`` 0 writes ``rows`` scales of 1.0, one per cycle."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({"start": In(1), "instr": In(type_bits(isa.TYPES["MISC"])),
                          "i": In(stream.Signature(RESULT)), "wr": Out(write_port(params)),
                          "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        v = data.View(layout(isa.TYPES["MISC"]), self.instr)
        w, r = self.wr, self.i
        requant = v.op == MiscOp.REQUANT
        row, index = Signal(17), Signal(32)                # rows finished; results written
        pending, scale = Signal(), Signal(32)              # a REQUANT row's scale to write
        running = Signal()
        finished = (row == v.rows) | (~requant & (v.cols == 0))
        o_byte, s_byte = Signal(40), Signal(40)
        m.d.comb += [o_byte.eq(v.o_addr * LANES + index * Mux(requant, 1, 2)),
                     s_byte.eq(v.b_addr * LANES + row * 4),
                     self.done.eq(~running)]
        code = r.payload.data
        with m.If(~running):
            pass
        with m.Elif(pending | (requant & (v.cols == 0) & ~finished)):
            m.d.comb += [w.valid.eq(1), w.buf.eq(v.b_buf), w.addr.eq(s_byte[4:]),
                         w.data.eq(Cat(*[Mux(pending, scale, ONE)] * (LANES // 4))),
                         w.be.eq(Const(0xF, LANES) << (s_byte[2:4] * 4))]
            with m.If(w.ready):
                m.d.sync += [pending.eq(0), row.eq(row + 1)]
        with m.Elif(~finished):
            m.d.comb += [w.valid.eq(r.valid), w.buf.eq(v.o_buf), w.addr.eq(o_byte[4:]),
                         w.data.eq(Mux(requant, Cat(*[code[:8]] * LANES),
                                       Cat(*[code] * (LANES // 2)))),
                         w.be.eq(Mux(requant, Const(1, LANES) << o_byte[:4],
                                     Const(3, LANES) << (o_byte[1:4] * 2))),
                         r.ready.eq(w.ready)]
            with m.If(r.valid & r.ready):
                m.d.sync += index.eq(index + 1)
                with m.If(r.payload.last):
                    with m.If(requant):
                        m.d.sync += [pending.eq(1), scale.eq(r.payload.scale)]
                    with m.Else():
                        m.d.sync += row.eq(row + 1)
        with m.Elif(running):
            m.d.sync += running.eq(0)                      # finished, nothing pending
        with m.If(self.start):
            m.d.sync += [running.eq(1), row.eq(0), index.eq(0), pending.eq(0)]
        return m

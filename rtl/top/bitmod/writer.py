"""Result writer of the BitMoD engine: one array output beat (a column's fp16 results of a row
block) to its place in OUT, at any byte alignment (one or two byte-enabled line writes)."""
from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ..buffers import write_port
from ..params import TopParams

LINE = isa.LINE_BYTES


class RowWriter(wiring.Component):
    """Ports: ``valid`` In(1) with ``addr`` (byte address in OUT), ``data`` (``nbytes`` bytes,
    little-endian) and ``count`` (bytes to write, 1..nbytes) held until ``done`` Out(1) (one-cycle
    pulse in the cycle the last line write is granted); ``wr`` Out(write port). Timing: one
    cycle per touched line (two when the bytes cross a line boundary) when the port is free."""

    def __init__(self, params: TopParams, nbytes: int):
        assert nbytes <= LINE
        self.params, self.nbytes = params, nbytes
        super().__init__({"valid": In(1), "addr": In(params.line_addr_bits + 5),
                          "data": In(8 * nbytes), "count": In(range(nbytes + 1)),
                          "done": Out(1), "wr": Out(write_port(params))})

    def elaborate(self, platform):
        m = Module()
        offset, line = self.addr[:4], self.addr[4:]
        wide = Signal(16 * LINE)
        be = Signal(2 * LINE)
        m.d.comb += [wide.eq(self.data << (offset * 8)),
                     be.eq((((Const(1, 2 * LINE + 1) << self.count) - 1) << offset)[:2 * LINE])]
        upper = Signal()             # the lower line is written; the upper one is next
        w = self.wr
        m.d.comb += [w.buf.eq(isa.Buf.OUT), w.valid.eq(self.valid)]
        with m.If(upper):
            m.d.comb += [w.addr.eq(line + 1), w.data.eq(wide[8 * LINE:]), w.be.eq(be[LINE:])]
            with m.If(w.ready):
                m.d.comb += self.done.eq(1)
                m.d.sync += upper.eq(0)
        with m.Else():
            m.d.comb += [w.addr.eq(line), w.data.eq(wide[:8 * LINE]), w.be.eq(be[:LINE])]
            with m.If(self.valid & w.ready):
                with m.If(be[LINE:] == 0):
                    m.d.comb += self.done.eq(1)
                with m.Else():
                    m.d.sync += upper.eq(1)
        return m

"""Element reads for the attention engine: one buffer read client holding the last line it read.

The engine walks its operands element by element (query/probability rows and K rows in order,
V columns with a stride); each element's line is read once and kept while following elements
fall into it, so a contiguous fp16 row costs one buffer read per 8 elements.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..buffers import BUF_BITS, read_port
from ..params import TopParams


class LineCache(wiring.Component):
    """Ports: ``want`` In(1) with ``buf``/``addr`` (line) held until ``have``; ``have`` Out(1):
    ``line`` Out(128) holds line ``addr`` of ``buf``; ``forget`` In(1): pulse at an instruction's
    start (the buffers may have changed since); ``rd`` Out(buffer read port). Timing: a hit is
    combinational; a miss asks the buffer at once and has the line 2 cycles after the grant."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({"want": In(1), "buf": In(BUF_BITS), "addr": In(params.line_addr_bits),
                          "forget": In(1), "have": Out(1), "line": Out(params.line_bits),
                          "rd": Out(read_port(params))})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        tag, tag_buf, tag_ok = Signal(p.line_addr_bits), Signal(BUF_BITS), Signal()
        asked, asked_buf, waiting = Signal(p.line_addr_bits), Signal(BUF_BITS), Signal()
        m.d.comb += [self.have.eq(tag_ok & (tag == self.addr) & (tag_buf == self.buf)),
                     self.rd.buf.eq(self.buf), self.rd.addr.eq(self.addr),
                     self.rd.valid.eq(self.want & ~self.have & ~waiting & ~self.forget)]
        with m.If(self.rd.valid & self.rd.ready):
            m.d.sync += [waiting.eq(1), asked.eq(self.addr), asked_buf.eq(self.buf)]
        with m.If(self.rd.rvalid):
            m.d.sync += [self.line.eq(self.rd.rdata), tag.eq(asked), tag_buf.eq(asked_buf),
                         tag_ok.eq(1), waiting.eq(0)]
        with m.If(self.forget):
            m.d.sync += tag_ok.eq(0)
        return m

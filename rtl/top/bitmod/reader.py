"""Bit-addressed field reader over one buffer, with a two-line window.

The engine's operands are bit fields at arbitrary bit addresses of a buffer (packed codes of any
width, fp16 activations of rows of any length, the tile's header and metadata), read in mostly
increasing order. A reader holds lines ``L`` and ``L + 1``; a field starting in line ``L`` is
served from the window in the same cycle, a field starting in ``L + 1`` slides the window one
line up (the old upper line becomes the lower one, one line is fetched), any other field refills
both lines.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..buffers import BUF_BITS, read_port
from ..params import TopParams

LINE_BITS_LOG2 = 7          # 128-bit lines


def addr_bits(p: TopParams) -> int:
    """Width of a bit address that reaches past the end of the largest buffer (fields of the
    padding past K are read, then masked)."""
    return p.line_addr_bits + LINE_BITS_LOG2 + 2


class FieldReader(wiring.Component):
    """Ports: ``buf`` In(3) (constant per reader use); ``addr`` In(:func:`addr_bits`) the field's
    bit address; ``req`` In(1); ``hit`` Out(1): ``data`` Out(width) holds bits ``[addr, addr +
    width)`` (comb, valid while ``hit``); ``flush`` In(1): forget the window (a new instruction:
    its buffer may have been rewritten); ``rd`` Out(buffer read port). Timing: a field in the
    window hits in the cycle it is asked for; sliding costs 3 cycles (slide, grant, data), a refill
    5, plus waits for the arbitrated port. Fields must have ``width <= 128``."""

    def __init__(self, params: TopParams, width: int):
        assert width <= 128
        self.params, self.width = params, width
        super().__init__({"buf": In(BUF_BITS), "addr": In(addr_bits(params)), "req": In(1),
                          "hit": Out(1), "data": Out(width), "flush": In(1),
                          "rd": Out(read_port(params))})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        lb = p.line_bits
        base = Signal(addr_bits(self.params) - LINE_BITS_LOG2)        # L
        lo, hi = Signal(lb), Signal(lb)
        have_lo, have_hi, pending, pending_hi = Signal(), Signal(), Signal(), Signal()
        line = self.addr[LINE_BITS_LOG2:]
        offset = self.addr[:LINE_BITS_LOG2]
        in_window = line == base
        m.d.comb += [self.hit.eq(have_lo & have_hi & in_window),
                     self.data.eq((Cat(lo, hi) >> offset)[:self.width]),
                     self.rd.buf.eq(self.buf)]
        miss = self.req & ~self.hit & ~pending
        with m.If(miss):
            with m.If(have_lo & in_window):                    # the upper line is missing
                m.d.comb += [self.rd.valid.eq(1), self.rd.addr.eq(base + 1)]
                with m.If(self.rd.ready):
                    m.d.sync += [pending.eq(1), pending_hi.eq(1)]
            with m.Elif(have_lo & have_hi & (line == base + 1)):   # slide one line up
                m.d.sync += [lo.eq(hi), base.eq(base + 1), have_hi.eq(0)]
            with m.Elif(~have_lo & in_window):
                m.d.comb += [self.rd.valid.eq(1), self.rd.addr.eq(base)]
                with m.If(self.rd.ready):
                    m.d.sync += [pending.eq(1), pending_hi.eq(0)]
            with m.Else():                                     # refill at the new line
                m.d.sync += [base.eq(line), have_lo.eq(0), have_hi.eq(0)]
        with m.If(self.rd.rvalid):
            m.d.sync += pending.eq(0)
            with m.If(pending_hi):
                m.d.sync += [hi.eq(self.rd.rdata), have_hi.eq(1)]
            with m.Else():
                m.d.sync += [lo.eq(self.rd.rdata), have_lo.eq(1)]
        with m.If(self.flush):     # the window starts at no line: the first field always refills
            m.d.sync += [have_lo.eq(0), have_hi.eq(0), base.eq((1 << len(base)) - 1)]
        return m

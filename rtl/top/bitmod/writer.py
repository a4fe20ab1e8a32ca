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


def line_writes(nbytes: int) -> int:
    """Most line writes one beat of ``nbytes`` bytes takes (at the worst byte alignment)."""
    return (nbytes + LINE - 1 + LINE - 1) // LINE


class RowWriter(wiring.Component):
    """Ports: ``valid`` In(1) with ``addr`` (byte address in OUT), ``data`` (``nbytes`` bytes,
    little-endian) and ``count`` (bytes to write, 1..nbytes) held until ``done`` Out(1) (one-cycle
    pulse in the cycle the last line write is granted); ``wr`` Out(write port). Timing: one
    cycle per touched line (``ceil((addr % 16 + count) / 16)``, at most :func:`line_writes`) when
    the port is free."""

    def __init__(self, params: TopParams, nbytes: int):
        self.params, self.nbytes = params, nbytes
        super().__init__({"valid": In(1), "addr": In(params.line_addr_bits + 5),
                          "data": In(8 * nbytes), "count": In(range(nbytes + 1)),
                          "done": Out(1), "wr": Out(write_port(params))})

    def elaborate(self, platform):
        m = Module()
        offset, line = self.addr[:4], self.addr[4:]
        parts = line_writes(self.nbytes)
        wide = Signal(8 * LINE * parts)
        be = Signal(LINE * parts)
        m.d.comb += [wide.eq(self.data << (offset * 8)),
                     be.eq((((Const(1, LINE * parts + 1) << self.count) - 1) << offset)
                           [:LINE * parts])]
        part = Signal(range(parts))          # the line of the beat being written
        last = Signal(range(parts))
        m.d.comb += last.eq((offset + self.count - 1) >> 4)
        w = self.wr
        m.d.comb += [w.buf.eq(isa.Buf.OUT), w.valid.eq(self.valid), w.addr.eq(line + part),
                     w.data.eq(wide.word_select(part, 8 * LINE)),
                     w.be.eq(be.word_select(part, LINE))]
        with m.If(self.valid & w.ready):
            with m.If(part == last):
                m.d.comb += self.done.eq(1)
                m.d.sync += part.eq(0)
            with m.Else():
                m.d.sync += part.eq(part + 1)
        return m

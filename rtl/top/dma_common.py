"""Pieces the LD and ST engines share: the on-chip range check and the burst descriptor."""
from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Mux, Signal
from amaranth.lib import data

from ...compiler import isa
from .params import TopParams
from .walker import LANES


def burst_desc(p: TopParams) -> data.StructLayout:
    """What the data side of an engine needs of an issued burst (``zero``: LD zero_fill)."""
    return data.StructLayout({"beats": range(p.max_burst_beats + 1), "first": range(LANES),
                              "bytes": range(LANES * p.max_burst_beats + 1), "zero": 1})


def drive_walker(m: Module, walker, view, limits) -> None:
    """Connect a DMA instruction's fields and its channel's size to a RunWalker."""
    for name in walker.cmd.shape().members:
        m.d.comb += getattr(walker.cmd, name).eq(view[name] if name in dict(iter(view.shape()))
                                                 else 0)
    with m.Switch(view.channel):
        for c, limit in enumerate(limits):
            with m.Case(c):
                m.d.comb += walker.limit.eq(limit)


class BufferRange(Elaboratable):
    """Byte range ``[lo, hi)`` of a DMA's on-chip side and whether it fits its buffer:
    ``lo = buf_addr * 16``, ``hi = lo + total`` with ``total = length * count1 * count2`` (counts
    of 0 mean 1). Inputs are held from the ``start`` pulse on; ``ready`` rises 2 cycles later
    (two registered multiplies) and stays until the next ``start``."""

    def __init__(self, p: TopParams):
        self.p = p
        self.start = Signal()
        self.buf, self.buf_addr = Signal(3), Signal(20)
        self.length, self.count1, self.count2 = Signal(24), Signal(16), Signal(16)
        self.ready, self.ok = Signal(), Signal()
        self.lo, self.hi, self.total = Signal(64), Signal(64), Signal(56)

    def elaborate(self, platform):
        m = Module()
        part = Signal(40)
        step = Signal(2)
        with m.If(self.start):
            m.d.sync += [step.eq(1), part.eq(self.length * Mux(self.count1 == 0, 1, self.count1))]
        with m.Elif(step == 1):
            m.d.sync += [step.eq(2), self.total.eq(part * Mux(self.count2 == 0, 1, self.count2))]
        size = Signal(range(max(self.p.buffer_bytes) + 1))
        with m.Switch(self.buf):
            for b in isa.Buf:
                with m.Case(b):
                    m.d.comb += size.eq(self.p.buffer_bytes[b])
        m.d.comb += [self.ready.eq(step == 2), self.lo.eq(self.buf_addr * LANES),
                     self.hi.eq(self.lo + self.total), self.ok.eq(self.hi <= size)]
        return m

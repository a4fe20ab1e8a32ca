"""A buffered synchronous FIFO whose memory write does not wait on ``w_en``.

Same ports and cycle behaviour as ``amaranth.lib.fifo.SyncFIFOBuffered`` (tests/rtl/top/
test_queue_fifo.py compares them cycle by cycle), but the free slot at the write pointer is
written with ``w_data`` in every cycle the FIFO is not full, and ``w_en`` only moves the pointer
and the level. A slot that is not committed is free, never read, and overwritten by the next
commit, so the contents are the same; what changes is that the memory's write enable and data
come from registers and the writer's data alone. The instruction queues use it: their ``w_en``
is the fetch unit's decode check, which on ECP5 was routed across the die into every LUT-RAM
write port of the five queues (docs/results/resources.md).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out


class EagerWriteFIFO(wiring.Component):
    """Ports: ``w_data`` In(width), ``w_en`` In(1), ``w_rdy`` Out(1), ``r_data`` Out(width),
    ``r_en`` In(1), ``r_rdy`` Out(1), ``level`` Out(range(depth + 1)). Timing as
    SyncFIFOBuffered: an entry committed into an empty FIFO is on ``r_data`` (``r_rdy``) two
    cycles after the cycle of its ``w_en`` (memory, then the output register); one write and
    one read per cycle."""

    def __init__(self, *, width: int, depth: int):
        if depth < 2:
            raise ValueError(f"EagerWriteFIFO: depth {depth} < 2")
        self.width, self.depth = width, depth
        super().__init__({"w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
                          "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
                          "level": Out(range(depth + 1))})

    def elaborate(self, platform):
        m = Module()
        inner = self.depth - 1                    # memory entries; one more in the output
        level = Signal(range(inner + 1))
        produce, consume = Signal(range(inner)), Signal(range(inner))
        m.submodules.storage = storage = memory.Memory(shape=self.width, depth=inner, init=[])
        w, r = storage.write_port(), storage.read_port(domain="sync")
        do_write = self.w_en & self.w_rdy
        do_move = (level != 0) & (~self.r_rdy | self.r_en)   # memory -> output register
        m.d.comb += [self.w_rdy.eq(level != inner),
                     w.addr.eq(produce), w.data.eq(self.w_data), w.en.eq(self.w_rdy),
                     r.addr.eq(consume), r.en.eq(do_move), self.r_data.eq(r.data),
                     self.level.eq(level + self.r_rdy)]
        with m.If(do_write):
            m.d.sync += produce.eq(_next(produce, inner))
        with m.If(do_move):
            m.d.sync += [consume.eq(_next(consume, inner)), self.r_rdy.eq(1)]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        m.d.sync += level.eq(level + do_write - do_move)
        return m


def _next(pointer, size: int):
    return Mux(pointer == size - 1, 0, pointer + 1)

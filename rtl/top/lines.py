"""Line reader shared by the ST engine and COPY: ``count`` consecutive lines of one buffer,
upwards or downwards, read ahead into a small FIFO through an arbitrated read port."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .buffers import BUF_BITS, read_port
from .params import TopParams

DEPTH = 4


def line_layout(params: TopParams) -> data.StructLayout:
    """A line and the buffer line it was read from."""
    return data.StructLayout({"data": params.line_bits, "addr": params.line_addr_bits + 1})


class LineReader(wiring.Component):
    """Ports: ``start`` In(1) pulse with ``buf``, ``first`` (line), ``count`` (lines) and
    ``down`` (1: first, first-1, ...); ``flush`` In(1) (drop what was read ahead; hold it until
    ``idle``); ``lines`` Out(stream of :func:`line_layout`, in order: each line with its
    address, so a consumer that writes it elsewhere needs no counter of its own); ``rd``
    Out(buffer read port); ``idle`` Out(1) (nothing requested, in flight or buffered).
    Timing: when the port grants at once, the first line is on ``lines`` 4 cycles after the
    start pulse (request, read, the FIFO's memory and output register), then one line per
    cycle.

    ``lines.ready`` drives a single register (``held``): the FIFO is popped whenever its head
    can go either to the consumer or into a one-line hold register beside it, so a consumer
    whose ``ready`` is a buffer arbiter's grant (COPY's write port) does not reach the FIFO's
    pointers and output enables in the same cycle. Lines leave in the same cycles as without
    the hold register: it only fills in a cycle the consumer refuses and empties the next
    cycle the consumer takes."""

    def __init__(self, params: TopParams):
        self.params = params
        bits = params.line_addr_bits + 1
        super().__init__({
            "start": In(1), "buf": In(BUF_BITS), "first": In(bits), "count": In(bits),
            "down": In(1), "flush": In(1),
            "lines": Out(stream.Signature(line_layout(params))), "rd": Out(read_port(params)),
            "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        layout = line_layout(p)
        m.submodules.fifo = q = fifo.SyncFIFOBuffered(width=layout.size, depth=DEPTH)
        addr, left = Signal(p.line_addr_bits + 1), Signal(p.line_addr_bits + 1)
        arriving_addr = Signal.like(addr)
        down, buf = Signal(), Signal(BUF_BITS)
        # `left != 0` kept as a register beside `left`: the request goes through the buffers'
        # arbiter and back into these registers in one cycle, the shell's worst path on ECP5
        # with the compare in front of it
        more = Signal()
        held, hold = Signal(), Signal(layout.size)
        # lines in the FIFO or arriving from the buffer (granted last cycle) as a register of its
        # own: the FIFO's level is a sum, and it sat in front of the request like `left != 0` did
        taken = Signal(range(DEPTH + 1))
        m.d.comb += [self.rd.buf.eq(buf), self.rd.addr.eq(addr),
                     self.rd.valid.eq(more & ~self.flush & (taken < DEPTH)),
                     q.w_data.eq(Cat(self.rd.rdata, arriving_addr)), q.w_en.eq(self.rd.rvalid),
                     self.lines.valid.eq((held | q.r_rdy) & ~self.flush),
                     self.lines.payload.eq(Mux(held, hold, q.r_data)),
                     q.r_en.eq(~held | self.flush),
                     self.idle.eq(~more & (taken == 0) & ~held)]
        # the hold register loads the FIFO's head whenever it is empty (no `ready` in its
        # enable); `held` says whether that load was a line the consumer refused
        with m.If(~held):
            m.d.sync += hold.eq(q.r_data)
        m.d.sync += held.eq(~self.flush & ~self.lines.ready & (held | q.r_rdy))
        took = self.rd.valid & self.rd.ready
        m.d.sync += [arriving_addr.eq(addr), taken.eq(taken + took - (q.r_en & q.r_rdy))]
        with m.If(self.start):
            m.d.sync += [addr.eq(self.first), left.eq(self.count), more.eq(self.count != 0),
                         down.eq(self.down), buf.eq(self.buf)]
        with m.Else():
            # one Mux rather than If/Elif: an engine that never flushes leaves `flush` constant,
            # and a priority case on a constant bit is a CASEOVERLAP lint finding
            m.d.sync += [left.eq(Mux(self.flush, 0, Mux(took, left - 1, left))),
                         more.eq(~self.flush & Mux(took, left != 1, more))]
            with m.If(took):
                m.d.sync += addr.eq(Mux(down, addr - 1, addr + 1))
        return m

"""ST engine: a contiguous on-chip block to strided HBM runs (AXI4 writes)."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .aligner import Aligner
from .axi import BURST_INCR, RESP_OKAY, axi4
from .buffers import read_port
from .dma_common import BufferRange, burst_desc, drive_walker
from .faults import Fault
from .params import TopParams
from .unit import fields, pulse_fault, sticky, unit_signature
from .walker import LANES, RunWalker

LINE_FIFO = 4


class StoreEngine(wiring.Component):
    """Executes ST instructions, one at a time.

    Ports: ``unit`` (:func:`unit_signature` of ST); ``pos0`` In(32); ``limits`` In(64) per
    channel; ``axi`` Out(AXI4 write channels, 16-byte data) with ``channel`` Out; ``rd``
    Out(buffer read port). Checks as sim.isa: the source range, then each run's HBM range.
    Timing: source lines are read ahead into a 4-line FIFO; one W beat per cycle when AXI and
    the read port keep up; up to ``params.outstanding`` bursts in flight; ``done`` the cycle
    after the last write response (the bytes have landed)."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({
            "unit": In(unit_signature(isa.TYPES["ST"], params)),
            "pos0": In(32), "limits": In(64).array(params.channels),
            "axi": Out(axi4(params.hbm_addr_bits, 8 * LANES, read=False)),
            "channel": Out(range(1 << 6)), "rd": Out(read_port(params))})

    def elaborate(self, platform):
        m = Module()
        p, st = self.params, fields(self.unit, "ST")
        m.submodules.walker = walker = RunWalker(p, gather=False)
        m.submodules.align = align = Aligner()
        m.submodules.bursts = bursts = fifo.SyncFIFOBuffered(width=burst_desc(p).size,
                                                             depth=p.outstanding)
        m.submodules.lines = lines = fifo.SyncFIFOBuffered(width=p.line_bits, depth=LINE_FIFO)
        m.submodules.range = rng = BufferRange(p)
        m.d.comb += [self.channel.eq(st.channel), walker.pos0.eq(self.pos0)]
        drive_walker(m, walker, st, self.limits)

        # bursts -> AW + descriptor for the W side; responses counted
        b = walker.bursts
        w_desc = data.View(burst_desc(p), bursts.w_data)
        m.d.comb += [w_desc.beats.eq(b.payload.beats), w_desc.first.eq(b.payload.first),
                     w_desc.bytes.eq(b.payload.bytes),
                     self.axi.awaddr.eq(b.payload.addr), self.axi.awlen.eq(b.payload.beats - 1),
                     self.axi.awsize.eq(4), self.axi.awburst.eq(BURST_INCR),
                     self.axi.awvalid.eq(b.valid & bursts.w_rdy),
                     b.ready.eq(bursts.w_rdy & self.axi.awready),
                     bursts.w_en.eq(b.valid & b.ready), self.axi.bready.eq(1)]
        pending = Signal(range(p.outstanding + 2))
        issued = b.valid & b.ready
        answered = self.axi.bvalid
        m.d.sync += pending.eq(pending + issued - answered)
        bad_resp = answered & (self.axi.bresp != RESP_OKAY)

        # source lines -> aligner (all full lines but the last)
        to_read = Signal(range(max(p.buffer_bytes) + 1))
        src = Signal(p.line_addr_bits + 1)
        arriving = Signal()
        m.d.comb += [self.rd.buf.eq(st.buf), self.rd.addr.eq(src),
                     self.rd.valid.eq((to_read != 0) & (lines.level + arriving + 1 <= LINE_FIFO)),
                     lines.w_data.eq(self.rd.rdata), lines.w_en.eq(self.rd.rvalid)]
        m.d.sync += arriving.eq(self.rd.valid & self.rd.ready)
        with m.If(self.rd.valid & self.rd.ready):
            m.d.sync += [src.eq(src + 1), to_read.eq(Mux(to_read < LANES, 0, to_read - LANES))]
        fed = Signal(range(max(p.buffer_bytes) + 1))
        m.d.comb += [align.i.valid.eq(lines.r_rdy), align.i.payload.data.eq(lines.r_data),
                     align.i.payload.lo.eq(0),
                     align.i.payload.count.eq(Mux(fed < LANES, fed, LANES)),
                     lines.r_en.eq(align.i.ready)]
        with m.If(align.i.valid & align.i.ready):
            m.d.sync += fed.eq(fed - align.i.payload.count)

        # W beats: per burst, the first at lane `first`, then full lines, wlast on the last
        desc = data.View(burst_desc(p), bursts.r_data)
        beat = Signal(range(p.max_burst_beats + 1))
        left = Signal(range(LANES * p.max_burst_beats + 1))
        first = beat == 0
        rem = Mux(first, desc.bytes, left)
        o = Mux(first, desc.first, 0)
        c = Mux(rem < LANES - o, rem, LANES - o)
        last_beat = beat + 1 == desc.beats
        m.d.comb += [align.need.valid.eq(bursts.r_rdy), align.need.payload.o.eq(o),
                     align.need.payload.c.eq(c), align.need.payload.tag.eq(last_beat),
                     self.axi.wvalid.eq(align.o.valid), self.axi.wdata.eq(align.o.payload.data),
                     self.axi.wstrb.eq(align.o.payload.strb),
                     self.axi.wlast.eq(align.o.payload.tag), align.o.ready.eq(self.axi.wready)]
        sent = align.need.valid & align.need.ready
        m.d.comb += bursts.r_en.eq(sent & last_beat)
        with m.If(sent):
            m.d.sync += [beat.eq(Mux(last_beat, 0, beat + 1)), left.eq(rem - c)]

        # control
        m.d.comb += [rng.buf.eq(st.buf), rng.buf_addr.eq(st.buf_addr), rng.length.eq(st.length),
                     rng.count1.eq(st.count1), rng.count2.eq(st.count2)]
        faulted = sticky(m, self.unit.start, walker.fault | bad_resp, "faulted")
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.comb += [rng.start.eq(1), align.clear.eq(1)]
                    m.d.sync += src.eq(st.buf_addr)
                    m.next = "SETUP"
            with m.State("SETUP"):
                with m.If(rng.ready):
                    with m.If(~rng.ok):
                        pulse_fault(m, self.unit, Fault.BUFFER_RANGE, rng.lo, rng.hi, st.buf)
                        m.next = "DONE"
                    with m.Else():
                        m.d.comb += walker.start.eq(1)
                        m.d.sync += [to_read.eq(rng.total), fed.eq(rng.total)]
                        m.next = "RUN"
            with m.State("RUN"):
                with m.If(walker.fault):
                    pulse_fault(m, self.unit, Fault.HBM_RANGE, walker.fault_lo, walker.fault_hi,
                                st.channel)
                with m.Elif(bad_resp & ~faulted):
                    pulse_fault(m, self.unit, Fault.AXI_RESP, self.axi.bresp, 0, st.channel)
                with m.If(~walker.busy & (bursts.level == 0) & (pending == 0) & ~issued):
                    m.d.sync += [to_read.eq(0), fed.eq(0)]
                    m.next = "FLUSH"
            with m.State("FLUSH"):              # lines read ahead of a faulted run
                m.d.comb += lines.r_en.eq(1)
                with m.If(~arriving & ~lines.r_rdy):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m

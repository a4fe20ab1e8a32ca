"""ST engine: a contiguous on-chip block to strided HBM runs (AXI4 writes)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .axi import BURST_INCR, RESP_OKAY, axi4
from .buffers import read_port
from .dma_common import ByteCountdown, burst_beats, dma_front, registered_resp, run_faults
from .faults import Fault
from .lines import LineReader
from .params import TopParams
from .unit import fields, pulse_fault, sticky, unit_signature
from .walker import LANES


class StoreEngine(wiring.Component):
    """Executes ST instructions, one at a time.

    Ports: ``unit`` (:func:`unit_signature` of ST); ``pos0`` In(32); ``limits`` In(64) per
    channel; ``axi`` Out(AXI4 write channels, 16-byte data) with ``channel`` Out; ``rd``
    Out(buffer read port). Checks as sim.isa: the source range, then each run's HBM range.
    Timing: source lines are read ahead (:class:`.lines.LineReader`); one W beat per cycle when
    AXI and the read port keep up; up to ``params.outstanding`` bursts in flight; ``done`` the cycle
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
        parts = dma_front(m, p, st, self.limits, self.pos0, gather=False)
        walker, align, bursts, rng = parts.walker, parts.align, parts.bursts, parts.range
        m.d.comb += self.channel.eq(st.channel)

        # bursts -> AW + descriptor for the W side; responses counted
        b = walker.bursts
        m.d.comb += [self.axi.awaddr.eq(b.payload.addr), self.axi.awlen.eq(b.payload.beats - 1),
                     self.axi.awsize.eq(4), self.axi.awburst.eq(BURST_INCR),
                     self.axi.awvalid.eq(b.valid & bursts.w_rdy),
                     b.ready.eq(bursts.w_rdy & self.axi.awready),
                     bursts.w_en.eq(b.valid & b.ready), self.axi.bready.eq(1)]
        pending = Signal(range(p.outstanding + 2))
        issued = b.valid & b.ready
        answered = self.axi.bvalid
        m.d.sync += pending.eq(pending + issued - answered)
        bad_resp, resp = registered_resp(m, answered & (self.axi.bresp != RESP_OKAY),
                                         self.axi.bresp)

        # source lines -> aligner (all full lines but the last)
        m.submodules.reader = reader = LineReader(p)
        wiring.connect(m, reader.rd, wiring.flipped(self.rd))
        m.d.comb += [reader.buf.eq(st.buf), reader.first.eq(st.buf_addr),
                     reader.count.eq((rng.total + LANES - 1) >> 4)]
        fed = ByteCountdown(p, "fed")             # bytes not yet fed to the aligner
        m.d.comb += [align.i.valid.eq(reader.lines.valid),
                     align.i.payload.data.eq(reader.lines.payload.data), align.i.payload.lo.eq(0),
                     align.i.payload.count.eq(fed.line),
                     reader.lines.ready.eq(align.i.ready)]
        with m.If(align.i.valid & align.i.ready):
            m.d.sync += fed.take()

        # W beats: per burst, the first at lane `first`, then full lines, wlast on the last
        beats = burst_beats(m, p, bursts)
        m.d.comb += [align.need.valid.eq(bursts.r_rdy), align.need.payload.o.eq(beats.lane),
                     align.need.payload.c.eq(beats.count), align.need.payload.tag.eq(beats.last),
                     self.axi.wvalid.eq(align.o.valid), self.axi.wdata.eq(align.o.payload.data),
                     self.axi.wstrb.eq(align.o.payload.strb),
                     self.axi.wlast.eq(align.o.payload.tag), align.o.ready.eq(self.axi.wready)]
        m.d.comb += beats.advance.eq(align.need.valid & align.need.ready)

        # control
        faulted = sticky(m, self.unit.start, walker.fault | bad_resp, "faulted")
        # the FLUSH state as a register of its own: decoded from the state it sat in front of
        # the reader's request and the buffers' read arbiters (the shell's ECP5 worst path on
        # one seed: this FSM -> the reader -> LD -> COPY -> the META read address)
        flushing = Signal()
        m.d.comb += reader.flush.eq(flushing)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.comb += [rng.start.eq(1), align.clear.eq(1)]
                    m.next = "SETUP"
            with m.State("SETUP"):
                with m.If(rng.ready):
                    with m.If(~rng.ok):
                        with m.If(rng.hi_ready):        # the report's exact bytes
                            pulse_fault(m, self.unit, Fault.BUFFER_RANGE, rng.lo, rng.hi, st.buf)
                            m.next = "DONE"
                    with m.Else():
                        m.d.comb += [walker.start.eq(1), reader.start.eq(1)]
                        m.d.sync += fed.load(rng.total)
                        m.next = "RUN"
            with m.State("RUN"):
                run_faults(m, self.unit, walker, bad_resp, faulted, resp, st.channel)
                with m.If(~walker.busy & (bursts.level == 0) & (pending == 0) & ~issued):
                    m.d.sync += fed.load(0) + [flushing.eq(1)]
                    m.next = "FLUSH"
            with m.State("FLUSH"):              # lines read ahead of a faulted run
                with m.If(reader.idle):
                    m.d.sync += flushing.eq(0)
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m

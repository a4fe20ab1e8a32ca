"""LD engine: HBM (AXI4 reads) or zeros into an on-chip buffer, written contiguously."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .axi import BURST_INCR, RESP_OKAY, axi4
from .buffers import read_port, write_port
from .dma_common import (ByteCountdown, burst_beats, burst_desc, dma_front, registered_resp,
                          run_faults)
from .faults import Fault
from .params import TopParams
from .unit import fields, pulse_fault, sticky, unit_signature
from .walker import LANES


class LoadEngine(wiring.Component):
    """Executes LD instructions, one at a time.

    Ports: ``unit`` (:func:`unit_signature` of LD); ``pos0`` In(32); ``limits`` In(64) per
    channel (bytes; 0 = absent); ``axi`` Out(AXI4 read channels, 16-byte data) with ``channel``
    Out (the top routes the port to that HBM channel); ``wr`` Out(buffer write port); ``ids``
    Out(buffer read port, META row ids of gather).
    Order of checks as sim.isa: the destination range, the gather ids' range in META, then each
    run's HBM range just before its bursts. Timing: up to ``params.outstanding`` bursts in
    flight; one 16-byte beat per cycle into the buffer when AXI and the write port keep up;
    ``done`` one cycle after the last line is written."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({
            "unit": In(unit_signature(isa.TYPES["LD"], params)),
            "pos0": In(32), "limits": In(64).array(params.channels),
            "axi": Out(axi4(params.hbm_addr_bits, 8 * LANES, write=False)),
            "channel": Out(range(1 << 6)),
            "wr": Out(write_port(params)), "ids": Out(read_port(params))})

    def elaborate(self, platform):
        m = Module()
        p, ld = self.params, fields(self.unit, "LD")
        parts = dma_front(m, p, ld, self.limits, self.pos0, gather=True)
        walker, align, bursts, rng = parts.walker, parts.align, parts.bursts, parts.range
        wiring.connect(m, wiring.flipped(self.ids), walker.ids)
        m.d.comb += self.channel.eq(ld.channel)

        # bursts -> AR (unless zero_fill) + descriptor for the data side
        b = walker.bursts
        m.d.comb += [data.View(burst_desc(p), bursts.w_data).zero.eq(ld.zero_fill),
                     self.axi.araddr.eq(b.payload.addr), self.axi.arlen.eq(b.payload.beats - 1),
                     self.axi.arsize.eq(4), self.axi.arburst.eq(BURST_INCR),
                     self.axi.arvalid.eq(b.valid & bursts.w_rdy & ~ld.zero_fill),
                     b.ready.eq(bursts.w_rdy & (ld.zero_fill | self.axi.arready)),
                     bursts.w_en.eq(b.valid & b.ready)]

        # data side: R beats (or zeros) -> aligner input
        beats = burst_beats(m, p, bursts)
        zero = beats.desc.zero
        m.d.comb += [align.i.payload.data.eq(Mux(zero, 0, self.axi.rdata)),
                     align.i.payload.lo.eq(beats.lane), align.i.payload.count.eq(beats.count),
                     align.i.valid.eq(bursts.r_rdy & (zero | self.axi.rvalid)),
                     self.axi.rready.eq(bursts.r_rdy & ~zero & align.i.ready)]
        took = align.i.valid & align.i.ready
        m.d.comb += beats.advance.eq(took)
        bad_resp, resp = registered_resp(m, took & ~zero & (self.axi.rresp != RESP_OKAY),
                                         self.axi.rresp)

        # aligner output -> buffer lines, all full but the last
        # the bytes still to write, and the next line's (ByteCountdown); the aligner emits on
        # the port's `free`, not `ready`, which is the same transfer without the arbiter's
        # grant (a function of this port's `valid`) between the aligner's `have` and its window
        remaining = ByteCountdown(p, "remaining")
        line = Signal(p.line_addr_bits + 1)
        m.d.comb += [align.need.valid.eq(remaining.line != 0), align.need.payload.o.eq(0),
                     align.need.payload.c.eq(remaining.line), self.wr.buf.eq(ld.buf),
                     align.o.ready.eq(self.wr.free)]
        # Lines leave through a register: the buffers see registered valid/addr/data/strobes,
        # so no logic is shared between the write arbiters and the aligner's emit loop (ABC
        # merged `have` into the WGT write enables and the loop crossed the die twice, the
        # shell's worst path on ECP5, seeds 3/4 after cut 21). LD is every buffer's first write
        # client, so `free` (its buffer select) still holds in the next cycle and the held
        # line is written then; the last one lands before RUN has seen `remaining` reach 0 and
        # DONE follows, so no cycle moves.
        held = Signal()
        m.d.sync += held.eq(align.o.valid & align.o.ready)
        m.d.comb += self.wr.valid.eq(held)
        with m.If(align.o.valid & align.o.ready):
            m.d.sync += [line.eq(line + 1), *remaining.take(), self.wr.addr.eq(line),
                         self.wr.data.eq(align.o.payload.data),
                         self.wr.be.eq(align.o.payload.strb)]

        # the gather ids' range in META, registered in every cycle (the fields hold from the
        # start, the decision comes two cycles later): from the fields through its adder and
        # compare into the fault report was the shell's worst path on ECP5
        meta_lo, meta_hi, meta_bad = ld.idx_addr * LANES, Signal(25), Signal()
        hi = meta_lo + 4 * Mux(ld.count1 == 0, 1, ld.count1)
        m.d.sync += [meta_hi.eq(hi), meta_bad.eq(ld.gather & (hi > p.buffer_bytes[isa.Buf.META]))]

        # control: check ranges, walk, drain
        faulted = sticky(m, self.unit.start, walker.fault | bad_resp, "faulted")
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.comb += [rng.start.eq(1), align.clear.eq(1)]
                    m.d.sync += line.eq(ld.buf_addr)
                    m.next = "SETUP"
            with m.State("SETUP"):
                with m.If(rng.ready):
                    with m.If(~rng.ok):
                        with m.If(rng.hi_ready):        # the report's exact bytes
                            pulse_fault(m, self.unit, Fault.BUFFER_RANGE, rng.lo, rng.hi, ld.buf)
                            m.next = "DONE"
                    with m.Elif(meta_bad):
                        pulse_fault(m, self.unit, Fault.BUFFER_RANGE, meta_lo, meta_hi,
                                    isa.Buf.META)
                        m.next = "DONE"
                    with m.Else():
                        m.d.comb += walker.start.eq(1)
                        m.d.sync += remaining.load(rng.total)
                        m.next = "RUN"
            with m.State("RUN"):
                run_faults(m, self.unit, walker, bad_resp, faulted, resp, ld.channel)
                drained = ~walker.busy & (bursts.level == 0)
                with m.If(drained & ((remaining.left == 0) | faulted | walker.fault)):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.d.sync += remaining.load(0)
                m.next = "IDLE"
        return m

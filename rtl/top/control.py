"""AXI4-Lite slave with the top's control and status registers (map in :mod:`.regs`)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from . import regs
from .axi import axi4_lite
from .unit import ARGS

NQ = len(isa.Queue)


class Control(wiring.Component):
    """Register file behind ``bus`` (In(AXI4-Lite), 32-bit). Outputs the launch registers and a
    one-cycle ``start`` pulse; reads the status inputs. Timing: a write completes 1 cycle after
    both AW and W are valid, a read returns 1 cycle after AR."""

    def __init__(self, channels: int, index_bits: int):
        self.channels = channels
        super().__init__({
            "bus": In(axi4_lite(regs.ADDR_BITS)),
            "start": Out(1), "prog_addr": Out(32), "prog_words": Out(32), "pos0": Out(32),
            "ntok": Out(32), "limits": Out(64).array(channels), "skip_missing": Out(1),
            "busy": In(1), "done": In(1), "code": In(8), "queue": In(3), "index": In(index_bits),
            "args": In(ARGS), "layer": In(12), "cycles": In(64),
            "stall": In(32).array(NQ), "active": In(32).array(NQ),
            "head_valid": In(1).array(NQ), "head_index": In(index_bits).array(NQ),
            "blocked": In(1), "blocked_queue": In(3), "blocked_index": In(index_bits)})

    def _readable(self) -> dict[int, object]:
        r = {regs.offset("ID"): regs.ID_VALUE, regs.offset("PROG_ADDR"): self.prog_addr,
             regs.offset("PROG_WORDS"): self.prog_words, regs.offset("POS0"): self.pos0,
             regs.offset("NTOK"): self.ntok, regs.offset("LAYER"): self.layer,
             regs.offset("MODE"): self.skip_missing,
             regs.offset("CYCLES_LO"): self.cycles[:32], regs.offset("CYCLES_HI"): self.cycles[32:],
             regs.offset("ERR_INDEX"): self.index,
             regs.offset("ERR_ARG0_LO"): self.args.a0[:32],
             regs.offset("ERR_ARG0_HI"): self.args.a0[32:],
             regs.offset("ERR_ARG1_LO"): self.args.a1[:32],
             regs.offset("ERR_ARG1_HI"): self.args.a1[32:],
             regs.offset("ERR_ARG2"): self.args.a2,
             regs.offset("STATUS"): (self.busy * regs.STATUS_BUSY
                                     | self.done * regs.STATUS_DONE
                                     | (self.code != 0) * regs.STATUS_FAULT
                                     | self.code << regs.STATUS_CODE_SHIFT
                                     | self.queue << regs.STATUS_QUEUE_SHIFT),
             regs.offset("DISPATCH"): (self.blocked << 31 | self.blocked_queue << 28
                                       | self.blocked_index)}
        for q in range(NQ):
            r[regs.STALL_BASE + 4 * q] = self.stall[q]
            r[regs.BUSY_BASE + 4 * q] = self.active[q]
            r[regs.HEAD_BASE + 4 * q] = self.head_valid[q] << 31 | self.head_index[q]
        for c in range(self.channels):
            r[regs.limit(c)] = self.limits[c][:32]
        return r

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        bvalid, rvalid, rdata = Signal(), Signal(), Signal(32)
        m.d.comb += [bus.bvalid.eq(bvalid), bus.rvalid.eq(rvalid), bus.rdata.eq(rdata),
                     bus.bresp.eq(0), bus.rresp.eq(0)]
        # write: AW and W together, one outstanding response
        write = bus.awvalid & bus.wvalid & ~bvalid
        m.d.comb += [bus.awready.eq(write), bus.wready.eq(write)]
        with m.If(bvalid & bus.bready):
            m.d.sync += bvalid.eq(0)
        with m.If(write):
            m.d.sync += bvalid.eq(1)
            with m.Switch(bus.awaddr[2:]):
                with m.Case(regs.offset("CTRL") >> 2):
                    m.d.comb += self.start.eq(bus.wdata[0] & ~self.busy)
                for name, target in (("PROG_ADDR", self.prog_addr), ("PROG_WORDS", self.prog_words),
                                     ("POS0", self.pos0), ("NTOK", self.ntok)):
                    with m.Case(regs.offset(name) >> 2):
                        m.d.sync += target.eq(bus.wdata)
                with m.Case(regs.offset("MODE") >> 2):
                    m.d.sync += self.skip_missing.eq(bus.wdata[0])
                for c in range(self.channels):
                    with m.Case(regs.limit(c) >> 2):
                        m.d.sync += self.limits[c].eq(bus.wdata)
        # read
        m.d.comb += bus.arready.eq(~rvalid)
        with m.If(rvalid & bus.rready):
            m.d.sync += rvalid.eq(0)
        with m.If(bus.arvalid & ~rvalid):
            m.d.sync += [rvalid.eq(1), rdata.eq(0)]
            with m.Switch(bus.araddr[2:]):
                for off, value in self._readable().items():
                    with m.Case(off >> 2):
                        m.d.sync += rdata.eq(value)
        return m

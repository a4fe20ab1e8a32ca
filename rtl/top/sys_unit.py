"""The SYS unit and the stand-in for queues without an engine."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .faults import Fault
from .params import TopParams
from .unit import fields, pulse_fault, unit_signature


class SysUnit(wiring.Component):
    """SYS SYNC / LAYER / END: token-only barriers, as in sim.isa (the host's word count, not
    END, bounds the step). Ports: ``unit``; ``layer`` Out(12): imm of the last LAYER; ``ended``
    Out(1): an END completed this step (``clear`` In(1) resets both at a start). Timing:
    ``done`` the cycle after ``start``."""

    def __init__(self, params: TopParams):
        super().__init__({"unit": In(unit_signature(isa.TYPES["SYS"], params)),
                          "layer": Out(12), "ended": Out(1), "clear": In(1)})

    def elaborate(self, platform):
        m = Module()
        sys = fields(self.unit, "SYS")
        m.d.sync += self.unit.done.eq(self.unit.start)
        with m.If(self.clear):
            m.d.sync += [self.layer.eq(0), self.ended.eq(0)]
        with m.Elif(self.unit.start & (sys.op == isa.SysOp.LAYER)):
            m.d.sync += self.layer.eq(sys.imm)
        with m.Elif(self.unit.start & (sys.op == isa.SysOp.END)):
            m.d.sync += self.ended.eq(1)
        return m


class Unsupported(wiring.Component):
    """A queue whose instructions no engine of this top executes: each one faults UNSUPPORTED
    (the step stops with a one-line error naming it), or, with ``skip`` In(1) (MODE register,
    bring-up), completes without touching memory. Timing: fault and ``done`` with ``start``."""

    def __init__(self, queue: isa.Queue, params: TopParams):
        super().__init__({"unit": In(unit_signature(isa.BY_QUEUE[queue], params)),
                          "skip": In(1)})

    def elaborate(self, platform):
        m = Module()
        missing(m, self.unit, self.skip, self.unit.start)
        return m


def missing(m: Module, unit, skip, when) -> None:
    """An instruction no engine executes: fault UNSUPPORTED, or just complete when ``skip``."""
    with m.If(when):
        with m.If(~skip):
            pulse_fault(m, unit, Fault.UNSUPPORTED)
        m.d.comb += unit.done.eq(1)


"""The port between a queue's issue logic and the unit that executes its instructions.

Every unit (LD, ST, SYS and the engines of MM, MV and MISC) has :func:`unit_signature`:
the issue logic pulses ``start`` with the instruction's words on ``instr`` (left-aligned as in
:mod:`.decoder`, held until ``done``) and its program ``index``; the unit pulses ``done`` once,
after its last write has landed (the release tokens go out in the same cycle). A fault is a
one-cycle ``fault`` pulse with ``code`` (:class:`.faults.Fault`) and ``args``; the unit then drains
what it started and still pulses ``done``.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .decoder import layout, type_bits
from .params import TopParams

ARGS = data.StructLayout({"a0": 64, "a1": 64, "a2": 32})


def unit_signature(itype: isa.InstrType, p: TopParams) -> wiring.Signature:
    """Seen from the issue logic (a unit's port is ``In(unit_signature(...))``)."""
    return wiring.Signature({
        "start": Out(1), "instr": Out(type_bits(itype)), "index": Out(p.index_bits),
        "done": In(1), "fault": In(1), "code": In(8), "args": In(ARGS)})


def fields(unit, kind: str) -> data.View:
    """The decoded fields of the unit's instruction (a view on ``unit.instr``)."""
    return data.View(layout(isa.TYPES[kind]), unit.instr)


def pulse_fault(m: Module, unit, code: int, a0=0, a1=0, a2=0) -> None:
    m.d.comb += [unit.fault.eq(1), unit.code.eq(code), unit.args.a0.eq(a0),
                 unit.args.a1.eq(a1), unit.args.a2.eq(a2)]


def sticky(m: Module, clear, pulse, name: str) -> Signal:
    """A flag set by ``pulse`` and cleared by ``clear`` (``clear`` wins)."""
    flag = Signal(name=name)
    with m.If(clear):
        m.d.sync += flag.eq(0)
    with m.Elif(pulse):
        m.d.sync += flag.eq(1)
    return flag

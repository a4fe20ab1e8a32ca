"""A queue's unit made of several engines: each instruction goes to the first engine that
accepts it; an instruction no engine accepts faults UNSUPPORTED.

An engine is a ``wiring.Component`` with a ``unit`` port (``In(unit.unit_signature(...))``),
lists ``rd`` / ``wr`` of buffer client ports (possibly empty) and a method
``accepts(view) -> Value`` that tells, from the decoded fields of an instruction of its queue,
whether it executes it (docs/rtl/top.md, "Engine port").
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ...compiler import isa
from .params import TopParams
from .shared import shared_factories
from .sys_unit import missing
from .unit import fields, unit_signature


class EngineSet(wiring.Component):
    """Ports: ``unit`` (:func:`unit_signature` of ``queue``); ``skip`` In(1) (an instruction no
    engine accepts completes instead of faulting: MODE register, bring-up); ``rd``/``wr``: the
    engines' buffer ports, concatenated (the top connects them). Timing: the selected engine's
    own (routing is combinational; the selection is held until its ``done``)."""

    def __init__(self, queue: isa.Queue, params: TopParams, engines: list):
        self.queue, self.engines = queue, list(engines)
        self.rd = [r for e in self.engines for r in e.rd]
        self.wr = [w for e in self.engines for w in e.wr]
        super().__init__({"unit": In(unit_signature(isa.BY_QUEUE[queue], params)),
                          "skip": In(1)})

    def elaborate(self, platform):
        m = Module()
        view = fields(self.unit, isa.BY_QUEUE[self.queue].name)
        chosen = Signal(range(len(self.engines) + 1))   # len(engines): none
        held = Signal.like(chosen)
        pick = Signal.like(chosen)
        m.d.comb += pick.eq(len(self.engines))
        for k in reversed(range(len(self.engines))):    # the first accepting engine wins
            with m.If(self.engines[k].accepts(view)):
                m.d.comb += pick.eq(k)
        m.d.comb += chosen.eq(held)
        with m.If(self.unit.start):
            m.d.comb += chosen.eq(pick)
            m.d.sync += held.eq(pick)
        for k, engine in enumerate(self.engines):
            m.submodules[f"engine{k}"] = engine
            e = engine.unit
            m.d.comb += [e.instr.eq(self.unit.instr), e.index.eq(self.unit.index),
                         e.start.eq(self.unit.start & (pick == k))]
            with m.If(chosen == k):
                m.d.comb += [self.unit.done.eq(e.done), self.unit.fault.eq(e.fault),
                             self.unit.code.eq(e.code), self.unit.args.eq(e.args)]
        missing(m, self.unit, self.skip, self.unit.start & (pick == len(self.engines)))
        return m


def built_engines(cfg) -> dict:
    """The engines this top has today, per queue (factories of the queue's unit), sized by
    ``cfg`` where the engine has a config section. Each queue lists factories ``params ->
    [engines]`` in ``accepts`` priority order (None: absent in this config)."""
    from .attention.engine import AttentionEngine
    from .bitmod.engine import bitmod_factories
    from .copy_engine import CopyEngine
    from .csd_engine import CsdEngine
    from ..sfu.params import SfuParams
    from .sfu_engine import SfuEngine
    sfu = SfuParams.from_config(cfg)

    def one(make):
        return None if make is None else (lambda p: [make(p)])

    # MM and MV share the attention engine and the CSD MPU (one instruction at a time); the
    # BitMoD arrays have a shape per queue, so each queue has its own unless the config gives
    # both the same shape (docs/rtl/top.md, "Shared engines")
    attention = shared_factories(AttentionEngine)
    csd_make = CsdEngine.factory(cfg)
    csd = shared_factories(csd_make) if csd_make else {}
    bitmod = bitmod_factories(cfg)
    products = {q: [attention[q], csd.get(q), bitmod.get(q)] for q in (isa.Queue.MM, isa.Queue.MV)}
    queues = {isa.Queue.MISC: [one(CopyEngine), one(lambda p: SfuEngine(p, sfu))],
              **products}

    def unit(queue, factories):
        return lambda p: EngineSet(queue, p, [e for make in factories for e in make(p)])
    return {q: unit(q, [f for f in fs if f]) for q, fs in queues.items() if any(fs)}

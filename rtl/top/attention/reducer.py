"""The fixed binary32 summation tree of docs/numerics.md as a streaming reducer on one adder.

Bit-identical to ``golden.ops.binary32.StreamingTree`` (hence to ``binary32.tree`` over the terms
in feed order): one pending partial per level; a new term is combined with the pending partial of
level 0, the sum with that of level 1, ... until a free level takes it. ``finish`` combines the
pending partials from level 0 upwards, a partial whose right sibling lies in the padding being
added to +0 (which only turns -0 into +0), exactly as ``StreamingTree.result``.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...fp import Fp32Add

LEVELS = 17                     # up to 2^16 terms (the ISA's k and n are 16 bits)


class StreamingReducer(wiring.Component):
    """Ports: ``term`` In(stream of binary32): one term per transfer (``ready`` in IDLE only);
    ``finish`` In(1): pulse while idle (no term offered), ends the sum; ``done`` Out(1): pulse,
    ``result`` Out(32) valid in that cycle (and held until the next term); the reducer is then
    empty for the next sum. Timing: a term takes 1 + c cycles, c the number of pending partials
    it meets (the trailing ones of the term count: 1 on average); ``finish`` takes
    ``ceil(log2 count) + 2`` cycles (1 for count 0), ``done`` in the last."""

    def __init__(self):
        super().__init__({"term": In(stream.Signature(32)), "finish": In(1), "done": Out(1),
                          "result": Out(32)})

    def elaborate(self, platform):
        m = Module()
        add = m.submodules.add = Fp32Add()
        pend = [Signal(32, name=f"pend{lv}") for lv in range(LEVELS)]
        has = Signal(LEVELS)
        count = Signal(LEVELS)
        carry, carried = Signal(32), Signal()
        level, top = Signal(range(LEVELS + 1)), Signal(range(LEVELS + 1))
        part, part_ok = Signal(32), Signal()
        for lv in range(LEVELS):
            with m.If(level == lv):
                m.d.comb += [part.eq(pend[lv]), part_ok.eq(has[lv])]
        last = Signal(LEVELS)                      # count - 1: top = its bit length
        m.d.comb += [last.eq(count - 1), self.result.eq(carry)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.term.ready.eq(1)
                with m.If(self.term.valid):
                    m.d.sync += [carry.eq(self.term.payload), level.eq(0)]
                    m.next = "CARRY"
                with m.Elif(self.finish):
                    m.d.sync += [level.eq(0), carried.eq(0), top.eq(0)]
                    for b in range(LEVELS):
                        with m.If(last[b]):
                            m.d.sync += top.eq(b + 1)
                    with m.If(count == 0):
                        m.d.sync += carry.eq(0)    # the empty sum is +0
                        m.next = "DONE"
                    with m.Else():
                        m.next = "FINISH"
            with m.State("CARRY"):                 # combine with the pending partials
                m.d.comb += [add.a.eq(part), add.b.eq(carry)]
                with m.If(part_ok):
                    m.d.sync += [carry.eq(add.y), level.eq(level + 1)]
                    for lv in range(LEVELS):
                        with m.If(level == lv):
                            m.d.sync += has[lv].eq(0)
                with m.Else():
                    for lv in range(LEVELS):
                        with m.If(level == lv):
                            m.d.sync += [pend[lv].eq(carry), has[lv].eq(1)]
                    m.d.sync += count.eq(count + 1)
                    m.next = "IDLE"
            with m.State("FINISH"):                # StreamingTree.result, one level per cycle
                with m.If(part_ok & carried):
                    m.d.comb += [add.a.eq(part), add.b.eq(carry)]
                    m.d.sync += carry.eq(add.y)
                with m.Elif(part_ok):
                    m.d.comb += [add.a.eq(part), add.b.eq(0)]
                    m.d.sync += [carry.eq(Mux(level == top, part, add.y)), carried.eq(1)]
                with m.Elif(carried & (level < top)):
                    m.d.comb += [add.a.eq(carry), add.b.eq(0)]
                    m.d.sync += carry.eq(add.y)
                m.d.sync += level.eq(level + 1)
                with m.If(level == top):
                    m.d.sync += [has.eq(0), count.eq(0)]
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
        return m

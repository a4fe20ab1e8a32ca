"""The streaming reducer of docs/numerics.md "Fixed reduction tree" for one term per cycle.

Level k keeps one pending partial; a term (or a carry from level k-1) arriving while level k
holds a partial is added to it (``left ⊕ right``, the earlier partial on the left) and the sum
moves on to level k+1 in the next cycle, else it becomes the pending partial. Every level has its
own adder, so terms enter at full rate with no stall. ``finish`` then folds the pending partials
from the lowest level up (``partial ⊕ carry``), one level per cycle. That equals golden's padded
tree for non-negative terms (squares, exp values: the only terms the SFU reduces), where adding
the +0 padding changes nothing (docs/numerics.md).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import SfuParams


class StreamingTree(wiring.Component):
    """Ports: In ``term`` (32) with ``valid``; In ``used`` (levels the row's terms reach:
    ``bit_length(terms)``, at most ``levels``; held from the first term to ``done``); In
    ``finish`` (pulse: fold and clear the row's partials; give it after the last term's carries
    have settled, ``settle(used)`` cycles after the last term); Out ``sum`` (32) with ``done``
    (pulse), +0 for a row with no term.

    Timing: one term per cycle; each level's adder (``params.add()``) takes ``step`` =
    ``add latency + 1`` cycles from its operands to the next level; ``finish`` to ``done``:
    ``fold(used)`` = ``used * step + 1`` cycles (the levels above ``used`` hold nothing and are
    not visited). ``levels`` bounds the row: up to ``2^levels - 1`` terms."""

    def __init__(self, levels: int, params: SfuParams = SfuParams()):
        self.levels, self.params = levels, params
        super().__init__({"term": In(32), "valid": In(1), "used": In(range(levels + 1)),
                          "finish": In(1), "sum": Out(32), "done": Out(1)})

    @property
    def step(self) -> int:
        return self.params.add_stages + 1

    def settle(self, used: int) -> int:
        """Cycles from the last term to its last carry stored (``finish`` may come then)."""
        return used * self.step

    def fold(self, used: int) -> int:
        return used * self.step + 1

    def elaborate(self, platform):
        m = Module()
        n, lat = self.levels, self.step - 1
        pending = [Signal(32, name=f"pending{k}") for k in range(n)]
        held = [Signal(name=f"held{k}") for k in range(n)]
        carry = [Signal(32, name=f"carry{k}") for k in range(n + 1)]
        carry_valid = [Signal(name=f"carry_valid{k}") for k in range(n + 1)]
        m.d.comb += [carry[0].eq(self.term), carry_valid[0].eq(self.valid)]
        folding = Signal()
        level = Signal(range(n + 1))
        tick = Signal(range(lat + 1))                 # cycles the folding level's add has run
        ripe = tick == lat                            # its sum is on the adder's output
        acc, acc_valid = Signal(32), Signal()
        for k in range(n):
            adder = m.submodules[f"add{k}"] = self.params.add()
            with m.If(folding):
                m.d.comb += [adder.a.eq(pending[k]), adder.b.eq(acc)]
            with m.Else():
                m.d.comb += [adder.a.eq(pending[k]), adder.b.eq(carry[k])]
            fire = Signal(name=f"fire{k}")            # a sum leaves for level k+1
            m.d.comb += fire.eq(~folding & carry_valid[k] & held[k])
            if k + 1 < n:
                for d in range(lat):                  # in step with the adder's ranks
                    later = Signal(name=f"fire{k}_d{d}")
                    m.d.sync += later.eq(fire)
                    fire = later
                m.d.sync += [carry[k + 1].eq(adder.y), carry_valid[k + 1].eq(fire)]
            with m.If(~folding & carry_valid[k]):
                with m.If(held[k]):
                    m.d.sync += held[k].eq(0)
                with m.Else():
                    m.d.sync += [pending[k].eq(carry[k]), held[k].eq(1)]
            with m.If(folding & ripe & (level == k) & held[k]):
                m.d.sync += [acc.eq(Mux(acc_valid, adder.y, pending[k])), acc_valid.eq(1),
                             held[k].eq(0)]
        m.d.comb += self.sum.eq(Mux(acc_valid, acc, 0))
        last = folding & ripe & (level + 1 >= self.used)
        with m.If(self.finish):
            m.d.sync += [folding.eq(self.used != 0), level.eq(0), tick.eq(0), acc_valid.eq(0)]
        with m.Elif(folding):
            m.d.sync += tick.eq(Mux(ripe, 0, tick + 1))
            with m.If(ripe):
                m.d.sync += level.eq(level + 1)
            with m.If(last):
                m.d.sync += folding.eq(0)
        done = Signal()
        m.d.sync += done.eq(last | self.finish & (self.used == 0))
        m.d.comb += self.done.eq(done)
        return m

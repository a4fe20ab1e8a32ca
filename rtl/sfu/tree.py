"""The streaming reducer of docs/numerics.md "Fixed reduction tree" for one term per cycle.

Level k keeps one pending partial; a term (or a carry from level k-1) arriving while level k
holds a partial is added to it (``left ⊕ right``, the earlier partial on the left) and the sum
moves on to level k+1 in the next cycle, else it becomes the pending partial. Every level has its
own adder, so terms enter at full rate with no stall. ``finish`` sends a fold token up the same
path, from the lowest level: at each level it is added to the pending partial (``partial ⊕
carry``, +0 on either side where there is none) and the sum climbs on, up to the row's highest
level. That equals golden's padded tree (``golden.ops.binary32.tree``): its padding is +0 and the
SFU reduces only non-negative terms (squares, exp values), for which ``x ⊕ +0`` is ``x``
(docs/numerics.md).
"""
from __future__ import annotations

import operator
from functools import reduce

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import SfuParams


class StreamingTree(wiring.Component):
    """Ports: In ``term`` (32) with ``valid``; In ``used`` (levels the row's terms reach:
    ``bit_length(terms)``, at most ``levels``; held from the first term to ``done``); In
    ``finish`` (pulse: fold and clear the row's partials; give it after the last term's carries
    have settled, ``settle(used)`` cycles after the last term); Out ``sum`` (32) with ``done``
    (pulse; ``sum`` holds until the next ``done``), +0 for a row with no term. The next row's
    terms may start from the second cycle after ``finish``.

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
        # the fold is a token climbing the same carry path as the terms: at each level it is
        # added to the pending partial (+0 where none is held, as golden pads), so no adder's
        # operands pass through a select shared by all levels (the clock's worst path before)
        pending = [Signal(32, name=f"pending{k}") for k in range(n)]   # +0 while not held
        held = [Signal(name=f"held{k}") for k in range(n)]
        carry = [Signal(32, name=f"carry{k}") for k in range(n + 1)]
        carry_valid = [Signal(name=f"carry_valid{k}") for k in range(n + 1)]
        token = [Signal(name=f"token{k}") for k in range(n + 1)]
        top = [Signal(name=f"top{k}") for k in range(n)]    # level k is the row's highest
        m.d.sync += [top[k].eq(self.used == k + 1) for k in range(n)]
        m.d.sync += token[0].eq(self.finish & (self.used != 0))
        m.d.comb += [carry[0].eq(Mux(token[0], 0, self.term)), carry_valid[0].eq(self.valid)]
        sums, ends = [], []
        for k in range(n):
            adder = m.submodules[f"add{k}"] = self.params.add()
            m.d.comb += [adder.a.eq(pending[k]), adder.b.eq(carry[k])]
            leaves = Signal(name=f"fire{k}")          # a sum leaves level k
            m.d.comb += leaves.eq(token[k] | carry_valid[k] & held[k])
            fire, tok = leaves, token[k]
            for d in range(lat):                      # in step with the adder's ranks
                fire_d, tok_d = Signal(name=f"fire{k}_d{d}"), Signal(name=f"token{k}_d{d}")
                m.d.sync += [fire_d.eq(fire), tok_d.eq(tok)]
                fire, tok = fire_d, tok_d
            end = Signal(name=f"end{k}")              # the fold leaves the row's top level
            m.d.comb += end.eq(tok & top[k])
            sums.append(Mux(end, adder.y, 0))
            ends.append(end)
            if k + 1 < n:
                m.d.sync += [carry[k + 1].eq(adder.y), carry_valid[k + 1].eq(fire & ~tok),
                             token[k + 1].eq(tok & ~top[k])]
            with m.If(leaves):
                m.d.sync += [pending[k].eq(0), held[k].eq(0)]
            with m.Elif(carry_valid[k]):
                m.d.sync += [pending[k].eq(carry[k]), held[k].eq(1)]
        total, done = Signal(32), Signal()
        ended = Cat(*ends).any() | self.finish & (self.used == 0)   # a row with no term: +0
        m.d.sync += done.eq(ended)
        with m.If(ended):
            m.d.sync += total.eq(reduce(operator.or_, sums))
        m.d.comb += [self.sum.eq(total), self.done.eq(done)]
        return m

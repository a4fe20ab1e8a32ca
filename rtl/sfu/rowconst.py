"""The row constants of the SFU's multi-pass ops, computed between two passes over a row:

* SOFTMAX after pass 0: ``m = max`` (visible columns; ``-inf`` when none is visible);
* SOFTMAX after pass 1: ``r = 1 ⊘ tree(e)``;
* RMSNORM after pass 0: ``r = 1 ⊘ √((tree(q) ⊘ f(n)) ⊕ eps)``;
* REQUANT after pass 0: ``s = (a = 0 ? 1 : a ⊘ 127)``, ``a = max|x|``.

One divider, one square root and one adder, used in sequence (docs/numerics.md "Ops of the SFU").
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler.isa import MiscOp as Op
from .exp import ONE
from .params import SfuParams

QMAX_F32 = 0x42FE0000          # 127.0


class RowConstants(wiring.Component):
    """Ports: In ``start`` (pulse: pass ``pass_`` of a row ended and its reductions settled),
    ``op``, ``pass_``, ``eps`` (binary32), ``cols`` (n), ``max_value`` (the pass's maximum),
    ``tree_sum`` / ``tree_done`` (from the streaming tree); Out ``finish`` (pulse to the tree),
    ``m``, ``r``, ``s`` (held until the next update), ``done`` (pulse: the constants of the next
    pass are ready). Timing: 1 cycle (max only) up to fold + 2 divisions + a square root + an
    addition (``add_latency + 1`` cycles); the units are ``params``'."""

    def __init__(self, params: SfuParams = SfuParams()):
        self.params = params
        self._div, self._sqrt = params.div(), params.sqrt()
        super().__init__({"start": In(1), "op": In(4), "pass_": In(2), "eps": In(32),
                          "cols": In(16), "max_value": In(32), "tree_sum": In(32),
                          "tree_done": In(1), "finish": Out(1), "m": Out(32), "r": Out(32),
                          "s": Out(32), "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        div = m.submodules.div = self._div
        sqrt = m.submodules.sqrt = self._sqrt
        n = m.submodules.n = self.params.to_f32()
        n_f = Signal(32)               # cols is held: f(n) is ready long before; the register
        m.d.sync += n_f.eq(n.y)        # keeps the conversion's rounding off the divider's load
        add = m.submodules.add = self.params.add()
        adding = Signal(range(add.latency + 1))
        op = self.op
        # Each unit reads its own operand registers, loaded by the step before it, so no
        # register is shared by (and placed between) units: one shared intermediate fed the
        # adder, the square root and the divider's select, and its fan-out set the clock.
        div_a, div_b, add_a, sqrt_a = (Signal(32, name=f) for f in ("div_a", "div_b", "add_a",
                                                                     "sqrt_a"))
        m.d.comb += [n.a.eq(self.cols), div.a.eq(div_a), div.b.eq(div_b), add.a.eq(add_a),
                     add.b.eq(self.eps), sqrt.a.eq(sqrt_a)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    with m.If((op == Op.SOFTMAX) & (self.pass_ == 0)):
                        m.d.sync += self.m.eq(self.max_value)
                        m.next = "DONE"
                    with m.Elif(op == Op.REQUANT):
                        with m.If(self.max_value == 0):
                            m.d.sync += self.s.eq(ONE)
                            m.next = "DONE"
                        with m.Else():
                            m.d.sync += [div_a.eq(self.max_value), div_b.eq(QMAX_F32)]
                            m.next = "DIV1"
                    with m.Else():
                        m.d.comb += self.finish.eq(1)
                        m.next = "FOLD"
            with m.State("FOLD"):
                with m.If(self.tree_done):
                    with m.If(op == Op.SOFTMAX):
                        m.d.sync += [div_a.eq(ONE), div_b.eq(self.tree_sum)]
                    with m.Else():                                          # RMSNORM
                        m.d.sync += [div_a.eq(self.tree_sum), div_b.eq(n_f)]
                    m.next = "DIV1"
            with m.State("DIV1"):
                m.d.comb += div.start.eq(1)
                m.next = "WAIT1"
            with m.State("WAIT1"):
                with m.If(div.done):
                    with m.Switch(op):
                        with m.Case(Op.SOFTMAX):
                            m.d.sync += self.r.eq(div.y)
                            m.next = "DONE"
                        with m.Case(Op.RMSNORM):
                            m.d.sync += add_a.eq(div.y)
                            m.next = "ADD"
                        with m.Default():
                            m.d.sync += self.s.eq(div.y)
                            m.next = "DONE"
            with m.State("ADD"):                           # add.latency + 1 cycles
                m.d.sync += adding.eq(adding + 1)
                with m.If(adding == add.latency):
                    m.d.sync += [sqrt_a.eq(add.y), adding.eq(0)]
                    m.next = "SQRT"
            with m.State("SQRT"):
                m.d.comb += sqrt.start.eq(1)
                m.next = "WAIT_SQRT"
            with m.State("WAIT_SQRT"):
                with m.If(sqrt.done):
                    m.d.sync += [div_a.eq(ONE), div_b.eq(sqrt.y)]          # 1 ⊘ √v
                    m.next = "DIV2"
            with m.State("DIV2"):
                m.d.comb += div.start.eq(1)
                m.next = "WAIT2"
            with m.State("WAIT2"):
                with m.If(div.done):
                    m.d.sync += self.r.eq(div.y)
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
        return m

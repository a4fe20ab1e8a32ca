"""The SFU's element pipeline: one element of any MISC op per cycle, fixed latency.

Steps, in pipeline order (each elementary operation is one unit of ``SfuParams`` and one
register, docs/rtl/sfu.md; a step starts when its operands are there, :mod:`.timing` lines them
up, so the stage numbers follow the units' latencies):

====  ==========================================================================
W     widened operands ``a b c d`` (``f``), stage 1
P     ``a ⊗ {b | s | c | a | r}``, ``b ⊗ d`` (ROPE), ``a ⊕ b`` / ``a ⊖ m`` (SOFTMAX)
P2    ROPE ``(a c) ⊕ (rot s)``; RMSNORM ``g ⊗ (x r)``
X     exp unit on ``-|a|`` (SILU, SWIGLU) or ``a ⊖ m`` (SOFTMAX), from ``EXP_IN`` to ``E``
E     reduction terms out (``a ⊗ a``; visible ``e``; ``a`` or ``|a|`` for the maximum)
E+    ``1 ⊕ e`` and ``(a < 0 ? e : 1)``; SOFTMAX ``e ⊗ r``
D..Q  operand registers, divider pool: ``σ`` (SILU, SWIGLU) or ``a ⊘ s`` (REQUANT)
Q+    ``a ⊗ σ``, then ``⊗ u`` (SWIGLU); REQUANT ``rint`` then clamp (NaN -> 0)
F     ``h(result)`` or the int8 code, then the output register
====  ==========================================================================
"""
from __future__ import annotations

from functools import partial

from amaranth.hdl import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler.isa import MiscOp as Op
from .exp import ONE, ExpUnit
from .layouts import ELEMENT, is_op
from .params import SfuParams
from .timing import Stages, Timed, unit, step as timed_step

SIGN = 1 << 31
QMAX = 127


class ElementPath(wiring.Component):
    """Ports: In ``valid``, ``element`` (layouts.ELEMENT), ``final`` (the element's pass writes
    results), ``first_pass`` (the element is in pass 0); In ``op`` (MiscOp), ``imm`` (SCALE's
    fp16 scalar), row constants ``m`` (SOFTMAX max), ``r`` (SOFTMAX / RMSNORM reciprocal),
    ``s`` (REQUANT scale), held while elements that use them are in flight.
    Out ``out_valid`` / ``out_data`` (16) / ``out_last``: a result of the final pass;
    ``exit`` (any element leaves the pipeline); ``term`` / ``term_valid`` (tree term),
    ``max_term`` / ``max_valid`` (maximum candidate), both in stage E.

    Timing: ``latency`` cycles from ``valid`` to ``out_valid`` (= ``exit``), one element per
    cycle, except dividing elements (SILU, SWIGLU, REQUANT's final pass), which the caller must
    space ``div_interval`` cycles apart (the divider pool works round-robin)."""

    def __init__(self, params: SfuParams):
        self.params = params
        self._divs = [params.div() for _ in range(params.dividers)]
        self._exp = ExpUnit(params)
        super().__init__({
            "valid": In(1), "element": In(ELEMENT), "final": In(1), "first_pass": In(1),
            "op": In(4), "imm": In(16), "m": In(32), "r": In(32), "s": In(32),
            "out_valid": Out(1), "out_data": Out(16), "out_last": Out(1), "exit": Out(1),
            "term": Out(32), "term_valid": Out(1), "max_term": Out(32), "max_valid": Out(1)})

    @property
    def exp_in(self) -> int:
        """The stage the exp unit's argument is fed in (``a ⊖ m`` registered)."""
        return self.params.add_stages + 2

    @property
    def exp_stage(self) -> int:
        return self.exp_in + self._exp.latency

    @property
    def div_latency(self) -> int:
        return self._divs[0].latency

    @property
    def div_interval(self) -> int:
        return -(-(self.div_latency + 1) // self.params.dividers)

    @property
    def latency(self) -> int:
        p = self.params
        quotient = self.exp_stage + p.add_stages + 2 + self.div_latency   # Q
        final = quotient + max(2 * p.mul_stages, p.conv_stages) + 3     # F
        return final + p.conv_stages + 1

    def elaborate(self, platform):
        m = Module()
        s = Stages(m, "el")
        p, op, el = self.params, self.op, self.element

        step = partial(timed_step, s, m)            # (name, unit, stage, **inputs) -> Timed

        def fp(name, component, a: Timed, b: Timed) -> Timed:
            at = max(a.at, b.at)
            return step(name, component, at, a=s.at(a, at), b=s.at(b, at))

        valid, last, vis = Timed(self.valid, 0), Timed(el.last, 0), Timed(el.vis, 0)
        final, first = Timed(self.final, 0), Timed(self.first_pass, 0)
        a, b, c, d = (step(n, p.widen(), 0, a=getattr(el, n)) for n in "abcd")     # stage 1
        scalar = unit(m, "imm", p.widen(), a=self.imm).y
        other = Signal(32)
        with m.Switch(op):
            with m.Case(Op.MUL):
                m.d.comb += other.eq(b.value)
            with m.Case(Op.SCALE):
                m.d.comb += other.eq(scalar)
            with m.Case(Op.ROPE):
                m.d.comb += other.eq(c.value)
            with m.Case(Op.RMSNORM):
                m.d.comb += other.eq(Mux(s.at(first, 1), a.value, self.r))
        prod = fp("mul_a", p.mul(), a, Timed(other, 1))
        rot = fp("mul_rot", p.mul(), b, d)
        addend = Mux(op == Op.SOFTMAX, self.m ^ SIGN, b.value)
        total = fp("add_a", p.add(), a, Timed(addend, 1))
        rope = fp("add_rope", p.add(), prod, rot)
        norm = fp("mul_gain", p.mul(), b, prod)
        S = max(total.at, rope.at, norm.at, prod.at)
        simple = Signal(32)
        with m.Switch(op):
            with m.Case(Op.ADD, Op.SOFTMAX):
                m.d.comb += simple.eq(s.at(total, S))
            with m.Case(Op.ROPE):
                m.d.comb += simple.eq(s.at(rope, S))
            with m.Case(Op.RMSNORM):
                m.d.comb += simple.eq(s.at(norm, S))
            with m.Default():
                m.d.comb += simple.eq(s.at(prod, S))
        simple_t = Timed(simple, S)

        ex = self._exp
        m.submodules.exp = ex
        assert total.at == self.exp_in
        m.d.comb += ex.t.eq(Mux(op == Op.SOFTMAX, total.value, s.at(a, self.exp_in) | SIGN))
        E = self.exp_stage
        e = Timed(ex.y, E)
        vis_e, first_e, valid_e = s.at(vis, E), s.at(first, E), s.at(valid, E)
        m.d.comb += [
            self.term.eq(Mux(op == Op.RMSNORM, s.at(prod, E), Mux(vis_e, e.value, 0))),
            self.term_valid.eq(valid_e & ((op == Op.RMSNORM) & first_e |
                                          (op == Op.SOFTMAX) & ~first_e & ~s.at(final, E))),
            self.max_term.eq(s.at(a, E) & Mux(op == Op.REQUANT, ~SIGN, ~0)),
            self.max_valid.eq(valid_e & first_e & ((op == Op.REQUANT) |
                                                    (op == Op.SOFTMAX) & vis_e))]
        den = fp("add_den", p.add(), e, Timed(ONE, E))
        num = s.reg(Mux(s.at(a, E)[31], e.value, ONE), E, "num")
        soft = fp("mul_r", p.mul(), e, Timed(self.r, E))
        X = max(soft.at, simple_t.at)
        early = s.reg(Mux(op == Op.SOFTMAX, Mux(s.at(vis, X), soft.value, 0),
                          s.at(simple_t, X)), X, "early")

        D = den.at                                              # divider start
        div_req = is_op(op, Op.SILU, Op.SWIGLU, Op.REQUANT) & s.at(valid, D) & s.at(final, D)
        dividend = Mux(op == Op.REQUANT, s.at(a, D), s.at(num, D))
        divisor = Mux(op == Op.REQUANT, self.s, den.value)
        n = len(self._divs)
        turn = Signal(range(n))
        for k, div in enumerate(self._divs):
            # each divider's operands in a register of its own, loaded only for it (so synthesis
            # keeps the copies apart), next to it: the pool's fan-out is a cycle, not in front
            # of the divider's leading-zero count
            a_k, b_k, go = Signal(32, name=f"div{k}_a"), Signal(32, name=f"div{k}_b"), Signal()
            with m.If(div_req & (turn == k)):
                m.d.sync += [a_k.eq(dividend), b_k.eq(divisor)]
            m.d.sync += go.eq(div_req & (turn == k))
            unit(m, f"div{k}", div, a=a_k, b=b_k, start=go)
        if n > 1:
            with m.If(div_req):
                m.d.sync += turn.eq(Mux(turn == n - 1, 0, turn + 1))
        Q = D + 1 + self.div_latency
        turn_q = s.at(Timed(turn, D), Q)
        quotient = s.reg(Array(dv.y for dv in self._divs)[turn_q], Q, "quot")
        silu = fp("mul_silu", p.mul(), a, quotient)
        swiglu = fp("mul_up", p.mul(), silu, b)
        rint = unit(m, "rint_q", p.rint(), a=quotient.value)
        code_r = s.reg(rint.y, quotient.at + rint.latency, "code_r")
        nan_r = s.reg(rint.nan, quotient.at + rint.latency, "nan_r")
        clamped = Mux(code_r.value > QMAX, QMAX, Mux(code_r.value < -QMAX, -QMAX, code_r.value))
        code = s.reg(Mux(nan_r.value, 0, clamped), code_r.at, "code")
        F = max(swiglu.at, code.at, early.at)
        result = Mux(op == Op.SILU, s.at(silu, F),
                     Mux(op == Op.SWIGLU, s.at(swiglu, F), s.at(early, F)))
        to16 = unit(m, "round16", p.to_f16(), a=result)
        G = F + to16.latency
        out = Mux(op == Op.REQUANT, s.at(code, G)[:16], to16.y)
        assert G + 1 == self.latency, (G + 1, self.latency)
        exit_ = s.at(valid, G)
        m.d.sync += [self.out_data.eq(out), self.exit.eq(exit_),
                     self.out_valid.eq(exit_ & s.at(final, G)), self.out_last.eq(s.at(last, G))]
        return m

"""The SFU's element pipeline: one element of any MISC op per cycle, fixed latency.

Stages (each elementary operation is one unit and one register, docs/rtl/sfu.md):

=========  ==========================================================================
1          widened operands ``a b c d`` (``f``)
2          ``a ⊗ {b | s | c | a | r}``, ``b ⊗ d`` (ROPE), ``a ⊕ b`` / ``a ⊖ m`` (SOFTMAX)
3          ROPE ``(a c) ⊕ (rot s)``; RMSNORM ``g ⊗ (x r)``
3 .. E     exp unit on ``-|a|`` (SILU, SWIGLU) or ``a ⊖ m`` (SOFTMAX), ``E = 19``
E          reduction terms out (``a ⊗ a``; visible ``e``; ``a`` or ``|a|`` for the maximum)
E+1        ``1 ⊕ e`` and ``(a < 0 ? e : 1)``; SOFTMAX ``e ⊗ r``
E+1 .. Q   divider pool: ``σ`` (SILU, SWIGLU) or ``a ⊘ s`` (REQUANT)
Q+1, Q+2   ``a ⊗ σ``, then ``⊗ u`` (SWIGLU); REQUANT ``rint`` then clamp (NaN -> 0)
Q+3        ``h(result)`` or the int8 code
=========  ==========================================================================
"""
from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler.isa import MiscOp as Op
from ..fp import F16ToF32, F32Rint, F32ToF16, Fp32Add, Fp32Div, Fp32Mul
from .exp import ONE, ExpUnit
from .layouts import ELEMENT, is_op
from .params import SfuParams
from .timing import Stages, Timed, unit

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

    EXP_IN = 2

    def __init__(self, params: SfuParams):
        self.params = params
        self._divs = [Fp32Div() for _ in range(params.dividers)]
        self._exp = ExpUnit()
        super().__init__({
            "valid": In(1), "element": In(ELEMENT), "final": In(1), "first_pass": In(1),
            "op": In(4), "imm": In(16), "m": In(32), "r": In(32), "s": In(32),
            "out_valid": Out(1), "out_data": Out(16), "out_last": Out(1), "exit": Out(1),
            "term": Out(32), "term_valid": Out(1), "max_term": Out(32), "max_valid": Out(1)})

    @property
    def exp_stage(self) -> int:
        return self.EXP_IN + self._exp.latency

    @property
    def div_latency(self) -> int:
        return self._divs[0].latency

    @property
    def div_interval(self) -> int:
        return -(-(self.div_latency + 1) // self.params.dividers)

    @property
    def latency(self) -> int:
        return self.exp_stage + 1 + self.div_latency + 1 + 3

    def elaborate(self, platform):
        m = Module()
        s = Stages(m, "el")
        op, el = self.op, self.element

        def widen(name, v):
            return s.reg(unit(m, name, F16ToF32(), a=v).y, 0, name)

        def fp(name, cls, a, b, at):
            return s.reg(unit(m, name, cls(), a=a, b=b).y, at, name)

        valid, last, vis = Timed(self.valid, 0), Timed(el.last, 0), Timed(el.vis, 0)
        final, first = Timed(self.final, 0), Timed(self.first_pass, 0)
        a, b, c, d = (widen(n, getattr(el, n)) for n in "abcd")                   # stage 1
        scalar = unit(m, "imm", F16ToF32(), a=self.imm).y
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
        prod = fp("mul_a", Fp32Mul, a.value, other, 1)                              # stage 2
        rot = fp("mul_rot", Fp32Mul, b.value, d.value, 1)
        addend = Mux(op == Op.SOFTMAX, self.m ^ SIGN, b.value)
        total = fp("add_a", Fp32Add, a.value, addend, 1)
        rope = fp("add_rope", Fp32Add, prod.value, rot.value, 2)                    # stage 3
        norm = fp("mul_gain", Fp32Mul, s.at(b, 2), prod.value, 2)
        simple = Signal(32)
        with m.Switch(op):
            with m.Case(Op.ADD, Op.SOFTMAX):
                m.d.comb += simple.eq(s.at(total, 3))
            with m.Case(Op.ROPE):
                m.d.comb += simple.eq(rope.value)
            with m.Case(Op.RMSNORM):
                m.d.comb += simple.eq(norm.value)
            with m.Default():
                m.d.comb += simple.eq(s.at(prod, 3))
        simple_t = Timed(simple, 3)

        ex = self._exp
        m.submodules.exp = ex
        m.d.comb += ex.t.eq(Mux(op == Op.SOFTMAX, total.value, s.at(a, 2) | SIGN))
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
        den = fp("add_den", Fp32Add, e.value, ONE, E)                               # E+1
        num = s.reg(Mux(s.at(a, E)[31], e.value, ONE), E, "num")
        soft = fp("mul_r", Fp32Mul, e.value, self.r, E)
        early = s.reg(Mux(op == Op.SOFTMAX, Mux(s.at(vis, E + 1), soft.value, 0),
                          s.at(simple_t, E + 1)), E + 1, "early")                  # E+2

        D = E + 1                                               # divider start
        div_req = is_op(op, Op.SILU, Op.SWIGLU, Op.REQUANT) & s.at(valid, D) & s.at(final, D)
        dividend = Mux(op == Op.REQUANT, s.at(a, D), num.value)
        divisor = Mux(op == Op.REQUANT, self.s, den.value)
        n = len(self._divs)
        turn = Signal(range(n))
        for k, div in enumerate(self._divs):
            unit(m, f"div{k}", div, a=dividend, b=divisor, start=div_req & (turn == k))
        if n > 1:
            with m.If(div_req):
                m.d.sync += turn.eq(Mux(turn == n - 1, 0, turn + 1))
        Q = D + self.div_latency
        turn_q = s.at(Timed(turn, D), Q)
        quotient = s.reg(Array(dv.y for dv in self._divs)[turn_q], Q, "quot")       # Q+1
        silu = fp("mul_silu", Fp32Mul, s.at(a, Q + 1), quotient.value, Q + 1)       # Q+2
        swiglu = fp("mul_up", Fp32Mul, silu.value, s.at(b, Q + 2), Q + 2)           # Q+3
        rint = unit(m, "rint_q", F32Rint(), a=quotient.value)
        code_r = s.reg(rint.y, Q + 1, "code_r")
        nan_r = s.reg(rint.nan, Q + 1, "nan_r")
        clamped = Mux(code_r.value > QMAX, QMAX, Mux(code_r.value < -QMAX, -QMAX, code_r.value))
        code = s.reg(Mux(nan_r.value, 0, clamped), Q + 2, "code")                   # Q+3
        F = Q + 3
        result = Mux(op == Op.SILU, s.at(silu, F),
                     Mux(op == Op.SWIGLU, swiglu.value, s.at(early, F)))
        half = unit(m, "round16", F32ToF16(), a=result).y
        out = Mux(op == Op.REQUANT, code.value[:16], half)
        assert F + 1 == self.latency
        exit_ = s.at(valid, F)
        m.d.sync += [self.out_data.eq(out), self.exit.eq(exit_),
                     self.out_valid.eq(exit_ & s.at(final, F)), self.out_last.eq(s.at(last, F))]
        return m

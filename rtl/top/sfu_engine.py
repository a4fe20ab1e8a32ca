"""MISC on the SFU: every MISC op but COPY (which the CopyEngine takes first), bit for bit as
``sim/isa/misc.py`` runs it, on the verified SFU core ``rtl/sfu.Sfu`` (docs/rtl/sfu.md).

The engine checks the instruction in sim.isa's order (:mod:`.sfu.checks`), reads RMSNORM's
binary32 ``eps`` (after the gain in B), then streams every row ``passes(op)`` times into the SFU
(:mod:`.sfu.elements`, re-reading the row from the buffer for each pass) and writes the results
as they leave it (:mod:`.sfu.writer`). Operand lines come through one read client
(:mod:`.sfu.operands`), results go out through one write client.

Not read-before-write as sim.isa: results are written while later elements are read, so O
overlapping A or B above their start, or ROPE in place (``x[j - d/2]`` may be overwritten),
differs from sim.isa; O = A is exact for every other op; the compiler never emits either.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..sfu.layouts import is_op
from ..sfu.params import OPS, SfuParams
from ..sfu.sfu import Sfu
from ...compiler import isa
from ...compiler.isa import MiscOp
from .buffers import write_port
from .params import TopParams
from .sfu.checks import fault_list
from .sfu.elements import SLOTS, ElementWalker
from .sfu.operands import OperandLines
from .sfu.writer import ResultWriter
from .unit import fields, pulse_fault, unit_signature

LANES = isa.LINE_BYTES


class SfuEngine(wiring.Component):
    """MISC ADD, MUL, SOFTMAX, RMSNORM, SILU, ROPE, REQUANT, SCALE, SWIGLU.

    Ports: ``unit`` (MISC); ``pos0``/``ntok`` In(32) (launch arguments, SOFTMAX's visibility);
    ``rd``: one buffer read client (:class:`.sfu.operands.OperandLines`, four line slots);
    ``wr``: one write client (results to O, REQUANT's scales to B).

    Timing (:mod:`.sfu.timing`): ``start``, ``CHECK``, RMSNORM's two eps reads, then one element
    per cycle while the operand lines hit (a miss costs 2 cycles, one more per further miss of
    the same element), at the SFU's pace (``div_interval`` for SILU/SWIGLU/REQUANT's final pass,
    its barrier between passes); ``done`` 2 cycles after the last result is written."""

    def __init__(self, params: TopParams, sfu: SfuParams = SfuParams()):
        self.params = params
        super().__init__({"unit": In(unit_signature(isa.TYPES["MISC"], params)),
                          "wr_port": Out(write_port(params)), "pos0": In(32), "ntok": In(32)})
        self._lines = OperandLines(params, SLOTS)
        self._sfu = Sfu(sfu)
        self.rd = [self._lines.rd]
        self.wr = [self.wr_port]

    @property
    def sfu(self) -> Sfu:
        return self._sfu

    @staticmethod
    def accepts(view):
        return is_op(view.op, *OPS)

    def elaborate(self, platform):
        m = Module()
        p, v = self.params, fields(self.unit, "MISC")
        lines = m.submodules.lines = self._lines
        sfu = m.submodules.sfu = self._sfu
        walker = m.submodules.walker = ElementWalker(p)
        writer = m.submodules.writer = ResultWriter(p)
        wiring.connect(m, walker.o, sfu.i)
        wiring.connect(m, sfu.o, writer.i)
        wiring.connect(m, writer.wr, wiring.flipped(self.wr_port))
        eps = Signal(32)
        m.d.comb += [walker.instr.eq(self.unit.instr), writer.instr.eq(self.unit.instr),
                     walker.pos0.eq(self.pos0), walker.ntok.eq(self.ntok),
                     sfu.op.eq(v.op), sfu.imm.eq(v.imm), sfu.eps.eq(eps), sfu.cols.eq(v.cols)]
        for s in range(SLOTS):
            m.d.comb += [lines.want[s].eq(walker.want[s]), lines.buf[s].eq(walker.buf[s]),
                         lines.addr[s].eq(walker.addr[s]), walker.have[s].eq(lines.have[s]),
                         walker.line[s].eq(lines.line[s])]
        # RMSNORM's eps: binary32 at byte 2 * cols of B, 2-aligned, so read as two halves
        eps_byte, high = Signal(40), Signal()
        m.d.comb += eps_byte.eq(v.b_addr * LANES + v.cols * 2 + high * 2)
        half = lines.line[1].word_select(eps_byte[1:4], 16)

        def begin():
            m.d.comb += [walker.start.eq(1), writer.start.eq(1)]
            m.next = "RUN"
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.comb += lines.forget.eq(1)
                    m.next = "CHECK"
            with m.State("CHECK"):
                for k, (cond, fault, a0, a1, a2) in enumerate(fault_list(m, v, p)):
                    with (m.If if k == 0 else m.Elif)(cond):
                        pulse_fault(m, self.unit, fault, a0, a1, a2)
                        m.next = "DONE"
                with m.Elif(v.op == MiscOp.RMSNORM):
                    m.d.sync += high.eq(0)
                    m.next = "EPS"
                with m.Else():
                    begin()
            with m.State("EPS"):
                m.d.comb += [lines.want[1].eq(1), lines.buf[1].eq(v.b_buf),
                             lines.addr[1].eq(eps_byte[4:])]
                with m.If(lines.have[1]):
                    m.d.sync += [high.eq(1), eps.word_select(high, 16).eq(half)]
                    with m.If(high):
                        begin()
            with m.State("RUN"):
                with m.If(walker.done & writer.done & sfu.idle):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m

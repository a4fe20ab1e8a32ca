"""The SFU engine's element walker: every row of a MISC instruction ``passes(op)`` times, one
element per accepted beat of the SFU's input stream, its operands read through
:class:`.operands.OperandLines`.

Slots: 0 ``x`` (A); 1 the B operand (ADD/MUL/SWIGLU ``b``, RMSNORM gain, ROPE cos); 2 ROPE's
rotation partner ``x[j ± d/2]`` (A); 3 ROPE's sin. ROPE's table row ``i`` holds the d/2 cosines
then the d/2 sines of row ``i``'s token (``golden.ops.sfu.rope_rows``). SOFTMAX's ``vis`` is
``golden.ops.causal.visible``: column ``j`` of row ``r`` is visible when ``j < pos0 + ntok`` and
``j <= pos0 + pos + (r mod period)``, ``period = imm`` (0: never wraps).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ....compiler.isa import MiscOp
from ...sfu.layouts import ELEMENT, is_op
from ...sfu.params import PASSES
from ..buffers import BUF_BITS
from ..decoder import layout, type_bits
from ..params import TopParams

LANES = isa.LINE_BYTES
SLOTS = 4
B_OPERAND = (MiscOp.ADD, MiscOp.MUL, MiscOp.SWIGLU, MiscOp.RMSNORM, MiscOp.ROPE)


class ElementWalker(wiring.Component):
    """Ports: ``start`` In(1) pulse (row 0, pass 0, column 0) with ``instr`` In (the MISC words,
    held) and ``pos0``/``ntok`` In(32); slot requests ``want``/``buf``/``addr`` Out and
    ``have``/``line`` In per slot (:class:`.operands.OperandLines`); ``o`` Out(stream of
    :data:`ELEMENT`) to the SFU; ``done`` Out(1): every element of every pass was accepted (low from the cycle after
    ``start``; nothing is offered outside that window).

    Timing: an element is offered in the cycle after the previous one was accepted, as soon as
    its wanted slots have their lines."""

    def __init__(self, params: TopParams):
        self.params = params
        bits = params.line_addr_bits
        super().__init__({
            "start": In(1), "instr": In(type_bits(isa.TYPES["MISC"])), "pos0": In(32),
            "ntok": In(32), "want": Out(1).array(SLOTS), "buf": Out(BUF_BITS).array(SLOTS),
            "addr": Out(bits).array(SLOTS), "have": In(1).array(SLOTS),
            "line": In(params.line_bits).array(SLOTS), "o": Out(stream.Signature(ELEMENT)),
            "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        v = data.View(layout(isa.TYPES["MISC"]), self.instr)
        row, pas, col = Signal(17), Signal(2), Signal(16)
        row_start, table_row = Signal(32), Signal(32)      # row * cols, row * imm
        k, period_pos = Signal(16), Signal(16)             # column in its head; row mod period
        npass = Signal(2)
        m.d.comb += npass.eq(1)
        for op, n in PASSES.items():
            with m.If(v.op == op):
                m.d.comb += npass.eq(n)
        rope = v.op == MiscOp.ROPE
        half = v.imm[1:]
        low = k < half                                     # first half of the head: rot = -x
        e, rot_e, cos_e = Signal(32), Signal(33), Signal(33)
        m.d.comb += [e.eq(row_start + col),
                     rot_e.eq(Mux(low, e + half, e - half)),
                     cos_e.eq(table_row + Mux(low, k, k - half))]
        a_lo, b_lo = v.a_addr * LANES, v.b_addr * LANES
        byte = [Signal(40, name=f"byte{s}") for s in range(SLOTS)]
        m.d.comb += [byte[0].eq(a_lo + e * 2),
                     byte[1].eq(b_lo + Mux(rope, cos_e, Mux(v.op == MiscOp.RMSNORM, col, e)) * 2),
                     byte[2].eq(a_lo + rot_e * 2),
                     byte[3].eq(b_lo + (cos_e + half) * 2)]
        running = Signal()
        finished = (row == v.rows) | (v.cols == 0)
        active = running & ~finished
        wanted = [active, active & is_op(v.op, *B_OPERAND), active & rope, active & rope]
        ready = 1
        for s in range(SLOTS):
            m.d.comb += [self.want[s].eq(wanted[s]), self.addr[s].eq(byte[s][4:]),
                         self.buf[s].eq(v.b_buf if s & 1 else v.a_buf)]
            ready = ready & (self.have[s] | ~wanted[s])
        word = [self.line[s].word_select(byte[s][1:4], 16) for s in range(SLOTS)]
        last = col == v.cols - 1
        visible = ((col < self.pos0 + self.ntok) & (col <= self.pos0 + v.pos + period_pos))
        p = self.o.payload
        m.d.comb += [self.o.valid.eq(active & ready), p.a.eq(word[0]),
                     p.b.eq(Mux(rope, word[2] ^ (low << 15), word[1])),
                     p.c.eq(word[1]), p.d.eq(word[3]), p.vis.eq(visible), p.last.eq(last),
                     self.done.eq(~running)]
        with m.If(self.start):
            m.d.sync += [running.eq(1), row.eq(0), pas.eq(0), col.eq(0), k.eq(0),
                         row_start.eq(0), table_row.eq(0), period_pos.eq(0)]
        with m.Elif(finished):
            m.d.sync += running.eq(0)
        with m.Elif(self.o.valid & self.o.ready):
            with m.If(last):
                m.d.sync += [col.eq(0), k.eq(0)]
                with m.If(pas == npass - 1):
                    m.d.sync += [pas.eq(0), row.eq(row + 1), row_start.eq(row_start + v.cols),
                                 table_row.eq(table_row + v.imm),
                                 period_pos.eq(Mux(period_pos + 1 == v.imm, 0, period_pos + 1))]
                with m.Else():
                    m.d.sync += pas.eq(pas + 1)
            with m.Else():
                m.d.sync += [col.eq(col + 1), k.eq(Mux(k + 1 == v.imm, 0, k + 1))]
        return m

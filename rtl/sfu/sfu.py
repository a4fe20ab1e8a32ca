"""The SFU: every MISC op of docs/numerics.md over rows streamed element by element.

The caller (the MISC engine of rtl/top, or a bench) holds ``op``/``imm``/``eps``/``cols`` for a
whole instruction and streams each row ``passes(op)`` times (1; RMSNORM and REQUANT 2; SOFTMAX
3), every pass ending with ``last``. Non-final passes only feed the reductions; between passes
the SFU computes the row constants (rowconst.py) and holds ``i.ready`` low meanwhile. The final
pass produces one result per element, in order.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ...compiler.isa import MiscOp as Op
from ..fp import Fp32Max
from .datapath import ElementPath
from .layouts import ELEMENT, RESULT, dividing, final_pass
from .params import SfuParams
from .rowconst import RowConstants
from .tree import StreamingTree

NEG_INF = 0xFF800000


class Sfu(wiring.Component):
    """Special-function unit, one element per cycle.

    Ports: In ``op`` (MiscOp, not COPY), ``imm`` (SCALE: fp16 bits of the scalar), ``eps``
    (RMSNORM, binary32), ``cols`` (the row length: RMSNORM's n, the tree's levels), all held
    while ``idle`` is low; In stream ``i`` of :data:`.layouts.ELEMENT`; Out stream ``o`` of
    :data:`.layouts.RESULT`; Out ``idle`` (no row in progress, nothing in flight, no result
    waiting).

    Timing: ``latency`` cycles from an accepted element of the final pass to its result on ``o``
    (if ``o`` is ready); one element per cycle, except the dividing ops (SILU, SWIGLU, REQUANT's
    final pass) at one per ``div_interval`` cycles; between two passes of a row the input waits
    for the row constants (a few cycles for SOFTMAX's maximum, up to two divisions and a square
    root for RMSNORM). ``o`` back-pressure stalls ``i`` once ``fifo_depth`` results are pending.
    """

    def __init__(self, params: SfuParams = SfuParams()):
        self.params = params
        self._path = ElementPath(params)
        super().__init__({"op": In(4), "imm": In(16), "eps": In(32), "cols": In(16),
                          "i": In(stream.Signature(ELEMENT)),
                          "o": Out(stream.Signature(RESULT)), "idle": Out(1)})

    @property
    def latency(self) -> int:
        return self._path.latency + 1          # + the output FIFO's read register

    @property
    def div_interval(self) -> int:
        return self._path.div_interval

    @property
    def fifo_depth(self) -> int:
        return self._path.latency + 4

    def elaborate(self, platform):
        m = Module()
        path = m.submodules.path = self._path
        rows = m.submodules.rowconst = RowConstants(self.params)
        tree = m.submodules.tree = StreamingTree(self.params.tree_levels, self.params)
        fifo = m.submodules.fifo = SyncFIFOBuffered(width=RESULT.size, depth=self.fifo_depth)
        op = self.op
        pass_ = Signal(2)
        final = final_pass(op, pass_)
        barrier = Signal()                        # the row's constants are being computed
        inflight = Signal(range(self.fifo_depth + 1))
        since = Signal(range(self.div_interval + 1), init=self.div_interval)

        paced = ~(dividing(op) & final) | (since == self.div_interval)
        room = inflight + fifo.level < self.fifo_depth
        accept = self.i.valid & self.i.ready
        m.d.comb += self.i.ready.eq(~barrier & room & paced)
        with m.If(accept & dividing(op) & final):
            m.d.sync += since.eq(1)
        with m.Elif(since != self.div_interval):
            m.d.sync += since.eq(since + 1)
        with m.If(accept & ~path.exit):
            m.d.sync += inflight.eq(inflight + 1)
        with m.Elif(~accept & path.exit):
            m.d.sync += inflight.eq(inflight - 1)

        m.d.comb += [path.valid.eq(accept), path.element.eq(self.i.payload),
                     path.final.eq(final), path.first_pass.eq(pass_ == 0),
                     path.op.eq(op), path.imm.eq(self.imm)]
        # the row constants reach the pipeline through a register beside it: they are written
        # by the cycle rows.done pulses, and the next pass's first element reads them in its
        # stage 1, two cycles later (accepted the cycle after the barrier drops)
        for name in "mrs":
            near = Signal(32, name=f"{name}_near")
            m.d.sync += near.eq(getattr(rows, name))
            m.d.comb += getattr(path, name).eq(near)
        with m.If(accept & self.i.payload.last):
            with m.If(final):
                m.d.sync += pass_.eq(0)
            with m.Else():
                m.d.sync += barrier.eq(1)

        # reductions: the streaming tree and the running maximum, fed from the pipeline's stage
        # E through a register (they sit apart from it on a chip; the barrier waits for the
        # pipeline to drain, long after stage E + 1)
        term, term_valid, cand, cand_valid = Signal(32), Signal(), Signal(32), Signal()
        m.d.sync += [term.eq(path.term), term_valid.eq(path.term_valid),
                     cand.eq(path.max_term), cand_valid.eq(path.max_valid)]
        m.d.comb += [tree.term.eq(term), tree.valid.eq(term_valid), tree.finish.eq(rows.finish)]
        best, seen = Signal(32), Signal()
        larger = m.submodules.max = Fp32Max()
        m.d.comb += [larger.a.eq(best), larger.b.eq(cand)]
        with m.If(cand_valid):
            m.d.sync += [best.eq(Mux(seen, larger.y, cand)), seen.eq(1)]

        # between passes: wait for the pipeline to empty and the tree's carries to settle; a row
        # of cols terms reaches bit_length(cols) levels (the highest partial and carry)
        used = Signal(range(tree.levels + 1))
        m.d.sync += used.eq(0)
        for bit in range(min(tree.levels, len(self.cols))):
            with m.If(self.cols[bit:] != 0):
                m.d.sync += used.eq(bit + 1)
        m.d.comb += tree.used.eq(used)
        settle = Signal(range(tree.settle(tree.levels) + 2))
        settle_at = Signal.like(settle)      # a register: the product is off the barrier's path
        m.d.sync += settle_at.eq(used * tree.step)
        m.d.comb += [rows.op.eq(op), rows.pass_.eq(pass_), rows.eps.eq(self.eps),
                     rows.cols.eq(self.cols), rows.tree_sum.eq(tree.sum),
                     rows.tree_done.eq(tree.done),
                     rows.max_value.eq(Mux(seen, best, Mux(op == Op.SOFTMAX, NEG_INF, 0)))]
        waiting = Signal()
        with m.If(barrier & ~waiting & (inflight == 0)):
            m.d.sync += settle.eq(settle + 1)
            with m.If(settle == settle_at):
                m.d.comb += rows.start.eq(1)
                m.d.sync += [waiting.eq(1), settle.eq(0)]
        with m.If(rows.done):
            m.d.sync += [waiting.eq(0), barrier.eq(0), pass_.eq(pass_ + 1), seen.eq(0)]

        m.d.comb += [fifo.w_en.eq(path.out_valid),
                     fifo.w_data.eq(Cat(path.out_data, rows.s, path.out_last)),  # RESULT
                     self.o.valid.eq(fifo.r_rdy), self.o.payload.eq(fifo.r_data),
                     fifo.r_en.eq(self.o.ready)]
        m.d.comb += self.idle.eq(~barrier & (pass_ == 0) & (inflight == 0) & (fifo.level == 0))
        return m


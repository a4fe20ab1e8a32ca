"""In-order issue: one instruction FIFO per queue, and the wait/release token counters.

Queue ``q`` issues its head when its unit is idle and, for every bit ``p`` of the head's
``wait``, the counter ``p -> q`` is nonzero (issuing takes one token from each); when the unit
pulses ``done`` one token goes to ``q -> r`` for every bit ``r`` of ``release`` (docs/isa.md).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .decoder import layout, type_bits
from .fetch import dispatch_signature
from .params import TopParams
from .queue_fifo import EagerWriteFIFO
from .unit import unit_signature

NQ = len(isa.Queue)


class IssueQueue(wiring.Component):
    """Ports: ``dispatch`` In(:func:`dispatch_signature`) from fetch; ``unit``
    Out(:func:`unit_signature`) to the unit (``start`` is registered: the cycle after issue);
    ``tokens_ok`` In(1) (the head's waits are available); ``halt`` In(1) (issue nothing more);
    ``flush`` In(1) (drop the queued instructions: a faulted step ends with empty queues);
    ``head_valid``/``head_index``/``head_wait`` Out; ``issue`` Out(1) pulse; ``active`` Out(1)
    (an instruction is in the unit); ``release`` Out(6) (mask of the active instruction, to be
    used with ``unit.done``); ``stalled`` Out(1) (the head waits for a token); ``queued`` Out(1)
    (instructions wait, including one still moving to the head, which takes a cycle)."""

    def __init__(self, queue: isa.Queue, params: TopParams):
        self.queue, self.params = queue, params
        self.itype = isa.BY_QUEUE[queue]
        super().__init__({
            "dispatch": In(dispatch_signature(self.itype, params)),
            "unit": Out(unit_signature(self.itype, params)),
            "tokens_ok": In(1), "halt": In(1), "flush": In(1),
            "head_valid": Out(1), "head_index": Out(params.index_bits), "head_wait": Out(NQ),
            "issue": Out(1), "active": Out(1), "release": Out(NQ), "stalled": Out(1),
            "queued": Out(1)})

    def elaborate(self, platform):
        m = Module()
        bits, p = type_bits(self.itype), self.params
        m.submodules.fifo = q = EagerWriteFIFO(width=bits + p.index_bits, depth=p.queue_depth)
        m.d.comb += [q.w_data.eq(self.dispatch.instr | self.dispatch.index << bits),
                     q.w_en.eq(self.dispatch.valid), self.dispatch.ready.eq(q.w_rdy)]
        head = data.View(layout(self.itype), q.r_data[:bits])
        cur = Signal(bits)
        cur_view = data.View(layout(self.itype), cur)
        m.d.comb += [self.head_valid.eq(q.r_rdy), self.queued.eq(q.level != 0),
                     self.head_index.eq(q.r_data[bits:]),
                     self.head_wait.eq(head.wait), self.unit.instr.eq(cur),
                     self.release.eq(cur_view.release)]
        can = q.r_rdy & ~self.active & ~self.halt
        m.d.comb += [self.issue.eq(can & self.tokens_ok), q.r_en.eq(self.issue | self.flush),
                     self.stalled.eq(can & ~self.tokens_ok)]
        m.d.sync += self.unit.start.eq(self.issue)
        with m.If(self.issue):
            m.d.sync += [cur.eq(q.r_data[:bits]), self.unit.index.eq(q.r_data[bits:]),
                         self.active.eq(1)]
        with m.Elif(self.unit.done):
            m.d.sync += self.active.eq(0)
        return m


class Tokens(wiring.Component):
    """The token counters ``p -> q`` (p != q) of ``params.token_bits`` bits.

    Ports per queue q: ``take[q]`` (q issues now; ``wait[q]`` its mask), ``give[q]`` (q's unit
    is done now; ``release[q]`` its mask); ``ok[q]`` Out: every waited counter is nonzero (for
    the head's mask ``wait[q]``); ``overflow`` Out(1) with ``pair_p``/``pair_q``: a counter
    passed its maximum in the previous cycle (registered, so that the fault capture is not at
    the end of the counters -> wait check -> issue -> take chain; the first pair in (p, q)
    order is reported); ``left`` Out(1) with the first nonzero pair in ``left_p``/``left_q``;
    ``clear`` In(1) empties every counter (a new step)."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({
            "take": In(1).array(NQ), "wait": In(NQ).array(NQ),
            "give": In(1).array(NQ), "release": In(NQ).array(NQ),
            "ok": Out(1).array(NQ), "clear": In(1),
            "overflow": Out(1), "pair_p": Out(3), "pair_q": Out(3),
            "left": Out(1), "left_p": Out(3), "left_q": Out(3)})

    def elaborate(self, platform):
        m = Module()
        top = (1 << self.params.token_bits) - 1
        pairs = [(p, q) for p in range(NQ) for q in range(NQ) if p != q]
        count = {pq: Signal(self.params.token_bits, name=f"tokens_{pq[0]}_{pq[1]}")
                 for pq in pairs}
        # `count != 0` and `count == top` as registers beside each counter, updated with it:
        # the wait check, the issue and the take loop back into the counters in one cycle, and
        # the compares of 8-bit counters in front of the check (shared by ABC with the `left`
        # tree) were the shell's worst path on ECP5 on four of ten seeds
        nonzero = {pq: Signal(name=f"nonzero_{pq[0]}_{pq[1]}") for pq in pairs}
        full = {pq: Signal(name=f"full_{pq[0]}_{pq[1]}") for pq in pairs}
        for q in range(NQ):
            ok = 1
            for p in range(NQ):
                if p != q:
                    ok = ok & (~self.wait[q][p] | nonzero[p, q])
            m.d.comb += self.ok[q].eq(ok)
        overflows = []
        for (p, q) in pairs:
            inc = self.give[p] & self.release[p][q]
            dec = self.take[q] & self.wait[q][p]
            c, nz, fl = count[p, q], nonzero[p, q], full[p, q]
            with m.If(self.clear):
                m.d.sync += [c.eq(0), nz.eq(0), fl.eq(0)]
            with m.Elif(inc & ~dec):        # at the top the counter wraps to 0 (reported)
                m.d.sync += [c.eq(c + 1), nz.eq(~fl), fl.eq(c == top - 1)]
            with m.Elif(dec & ~inc):
                m.d.sync += [c.eq(c - 1), nz.eq(c != 1), fl.eq(c == 0)]
            overflows.append(inc & ~dec & fl & ~self.clear)
        # the first pair in (p, q) order wins each report, picked by a balanced tree rather
        # than a chain of 30 overriding assignments (the overflow report's chain behind the
        # counters -> ok -> issue -> take loop was a worst path of the shell on ECP5)
        over, over_p, over_q = _first_pair(overflows, pairs)
        m.d.sync += [self.overflow.eq(over), self.pair_p.eq(over_p), self.pair_q.eq(over_q)]
        left, left_p, left_q = _first_pair([nonzero[pq] for pq in pairs], pairs)
        m.d.comb += [self.left.eq(left), self.left_p.eq(left_p), self.left_q.eq(left_q)]
        return m


def _first_pair(flags: list, pairs: list) -> tuple:
    """(any flag, p, q of the first flagged pair) by halving: log2(len) multiplexer levels."""
    if len(flags) == 1:
        return flags[0], pairs[0][0], pairs[0][1]
    half = len(flags) // 2
    a, ap, aq = _first_pair(flags[:half], pairs[:half])
    b, bp, bq = _first_pair(flags[half:], pairs[half:])
    return a | b, Mux(a, ap, bp), Mux(a, aq, bq)

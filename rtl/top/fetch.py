"""Instruction fetch and dispatch: program words over AXI4, assembled, checked, and pushed in
program order into the queue of their type."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .axi import BURST_INCR, axi4, burst_length
from .decoder import INSTR_BITS, OPCODE_BITS, DecodeCheck, type_bits
from .faults import Fault
from .params import TopParams
from .unit import ARGS

WORD = isa.WORD_BITS
MAX_BURST = 16
PAGE_WORDS = 4096 // 4        # AXI bursts stay inside 4 KiB pages


def dispatch_signature(itype: isa.InstrType, p: TopParams) -> wiring.Signature:
    """Fetch -> queue: the instruction's words (left-aligned) and its program index."""
    return wiring.Signature({"valid": Out(1), "instr": Out(type_bits(itype)),
                             "index": Out(p.index_bits), "ready": In(1)})


class Fetch(wiring.Component):
    """Reads ``words`` 32-bit instruction words from byte address ``addr`` of the instruction
    port and dispatches each instruction to ``queues[q]`` in program order.

    Ports: ``start`` In(1) pulse (``addr``, ``words`` held meanwhile); ``halt`` In(1) (stop
    requesting, discard what arrives); ``axi`` Out(AXI4 read, 32-bit data); ``queues[q]``
    Out(:func:`dispatch_signature`) per Queue; ``fault`` Out(1) pulse, ``code``/``args``/
    ``index`` describing it in that cycle (DECODE or TRUNCATED; they follow the assembly
    otherwise); ``finished`` Out(1) (every word dispatched); ``idle`` Out(1)
    (nothing in flight or buffered); ``blocked`` Out(1) with ``blocked_index``/``blocked_queue``
    (a complete instruction waits for room in its queue). Timing: bursts of up to 16 words, up
    to ``params.fetch_fifo_words`` words ahead; an instruction of n words dispatches n + 1
    cycles after its first word arrived."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({
            "start": In(1), "halt": In(1), "addr": In(params.imem_addr_bits), "words": In(32),
            "axi": Out(axi4(params.imem_addr_bits, WORD, write=False)),
            "queues": Out(wiring.Signature({
                q.name: Out(dispatch_signature(isa.BY_QUEUE[q], params)) for q in isa.Queue})),
            "fault": Out(1), "code": Out(8), "args": Out(ARGS), "index": Out(params.index_bits),
            "finished": Out(1), "idle": Out(1), "blocked": Out(1),
            "blocked_index": Out(params.index_bits), "blocked_queue": Out(range(len(isa.Queue)))})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        depth = p.fetch_fifo_words
        m.submodules.words = words = fifo.SyncFIFOBuffered(width=WORD, depth=depth)
        m.submodules.check = check = DecodeCheck()

        # requests: bursts within 4 KiB pages, only as much as the word FIFO can take
        # The next burst's length, the words left to its page's end and `to_request != 0` are
        # registers, planned when the previous burst is asked for (or at start): computed from
        # `next_addr` they put two compares in front of `arvalid` and the address enables, a
        # worst path of the shell on ECP5.
        next_addr, to_request = Signal(p.imem_addr_bits), Signal(32)
        burst, page, want = Signal(range(MAX_BURST + 1)), Signal(range(PAGE_WORDS + 1)), Signal()
        # room = depth - (words in the FIFO) - (words asked for, not arrived), kept as a
        # register of its own: `level + inflight + burst <= depth` put the FIFO's level adder
        # and two more adds in front of `arvalid` and every register a request moves (the
        # shell's worst path on ECP5 in seven of ten runs after cut 22)
        # (`room == depth` is also `idle`: nothing asked for, arrived or buffered)
        room = Signal(range(depth + 1), init=depth)
        # `burst <= room` is a register too, computed from both registers' next values: the
        # compare in front of `arvalid` fanned out, through `asked`, to the clock enables of
        # every register a request moves (the shell's ECP5 worst path on seed 1 after cut 24)
        fits = Signal(init=1)
        room_next, burst_next = Signal.like(room), Signal.like(burst)
        ar = self.axi
        m.d.comb += [ar.araddr.eq(next_addr), ar.arlen.eq(burst - 1), ar.arsize.eq(2),
                     ar.arburst.eq(BURST_INCR),
                     ar.arvalid.eq(want & ~self.halt & fits),
                     ar.rready.eq(1), words.w_data.eq(ar.rdata),
                     words.w_en.eq(ar.rvalid & ~self.halt)]
        asked = ar.arvalid & ar.arready
        # a word leaves the count when it is popped, or when it arrives while halted (dropped)
        freed = (words.r_en & words.r_rdy) + (ar.rvalid & self.halt)
        m.d.comb += [room_next.eq(room - Mux(asked, burst, 0) + freed), burst_next.eq(burst)]
        m.d.sync += [room.eq(room_next), burst.eq(burst_next),
                     fits.eq(burst_next <= room_next)]

        def plan(words_left, page_left, name):
            m.d.sync += [to_request.eq(words_left), page.eq(page_left), want.eq(words_left != 0)]
            m.d.comb += burst_next.eq(burst_length(m, MAX_BURST, words_left, page_left, name))
        with m.If(self.start):
            m.d.sync += next_addr.eq(self.addr)
            plan(self.words, PAGE_WORDS - self.addr[2:12], "first_burst")
        with m.Elif(self.halt):
            m.d.sync += [to_request.eq(0), want.eq(0)]
        with m.Elif(asked):
            m.d.sync += next_addr.eq(next_addr + (burst << 2))
            # a burst that ends its page leaves the next one at a page start
            rest = Signal(range(PAGE_WORDS + 1))
            m.d.comb += rest.eq(page - burst)
            plan(to_request - burst, Mux(rest == 0, PAGE_WORDS, rest), "next_burst")

        # assembly: words into a left-aligned instruction register, then check and dispatch
        instr = Signal(INSTR_BITS)
        have, need = Signal(range(8)), Signal(range(8))
        left = Signal(32)               # words not yet taken from the FIFO
        # `left != 0` as a register of its own: the 32-bit zero test sat between `left` and the
        # FIFO's read enable and level (the shell's worst path on ECP5 seed 9 after cut 23)
        more = Signal()
        word_base = Signal(32)          # index of the instruction's first word
        index = Signal(p.index_bits)
        opcode_in = words.r_data[WORD - OPCODE_BITS:]
        complete = (have != 0) & (have == need)
        m.d.comb += [check.instr.eq(instr), self.index.eq(index),
                     self.finished.eq(~more & (have == 0)),
                     self.idle.eq(room == depth)]
        # every queue sees the instruction register whatever happens below (only `valid` is
        # conditional): under the If chain its bits were gated by the decode check, which put
        # the check in front of the queues' LUT-RAM write data, the shell's worst path on ECP5
        for itype in isa.TYPES.values():
            port = getattr(self.queues, itype.queue.name)
            m.d.comb += [port.instr.eq(instr[INSTR_BITS - type_bits(itype):]),
                         port.index.eq(index)]
        with m.If(self.start):
            m.d.sync += [left.eq(self.words), more.eq(self.words != 0), have.eq(0),
                         word_base.eq(0), index.eq(0)]
        with m.Elif(self.halt):
            m.d.comb += words.r_en.eq(1)
            m.d.sync += [have.eq(0), left.eq(0), more.eq(0)]
        with m.Elif(~complete & words.r_rdy & more):
            m.d.comb += words.r_en.eq(1)
            m.d.sync += [left.eq(left - 1), more.eq(left != 1), have.eq(have + 1)]
            with m.Switch(have):
                for k in range(max(t.words for t in isa.TYPES.values())):
                    with m.Case(k):
                        m.d.sync += instr[INSTR_BITS - WORD * (k + 1):INSTR_BITS - WORD * k].eq(
                            words.r_data)
            with m.If(have == 0):
                m.d.sync += need.eq(1)
                with m.Switch(opcode_in):
                    for itype in isa.TYPES.values():
                        with m.Case(itype.opcode):
                            m.d.sync += need.eq(itype.words)
        with m.Elif(((have != 0) & (have < need) & ~more) | (complete & ~check.ok)):
            m.d.comb += self.fault.eq(1)                # TRUNCATED or DECODE (code below)
        with m.Elif(complete):
            opcode = instr[INSTR_BITS - OPCODE_BITS:]
            with m.Switch(opcode):
                for itype in isa.TYPES.values():
                    port = getattr(self.queues, itype.queue.name)
                    with m.Case(itype.opcode):
                        m.d.comb += [port.valid.eq(1), self.blocked.eq(~port.ready),
                                     self.blocked_queue.eq(itype.queue)]
                        with m.If(port.ready):
                            m.d.sync += [have.eq(0), index.eq(index + 1),
                                         word_base.eq(word_base + itype.words)]
        m.d.comb += self.blocked_index.eq(index)
        # The fault's code and arguments whatever the cycle (only `fault` is conditional; the
        # two faults are told apart by `have < need`, true for TRUNCATED, false for DECODE):
        # gated by the decode check's `ok`, they were a worst path of the shell on ECP5.
        truncated = have < need
        m.d.comb += [self.code.eq(Mux(truncated, Fault.TRUNCATED, Fault.DECODE)),
                     self.args.a0.eq(Mux(truncated, need, check.field_id)),
                     self.args.a1.eq(Mux(truncated, have, check.value)),
                     self.args.a2.eq(word_base + Mux(truncated, 0, check.word))]
        return m

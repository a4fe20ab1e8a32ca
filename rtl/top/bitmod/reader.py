"""Bit-addressed field reader over one buffer, with a two-line window that reads ahead.

The engine's operands are bit fields at arbitrary bit addresses of a buffer (packed codes of any
width, fp16 activations of rows of any length, the tile's header and metadata), read in mostly
increasing order. A reader holds lines ``L`` (lower) and ``L + 1`` (upper). A field is served in
the cycle it is asked for when the lines it touches are held: one starting in ``L`` (the upper
line too if it crosses into it), or one lying wholly in ``L + 1``, which also slides the window
up (the upper line becomes the lower one) and asks for the line after it in the same cycle.
Whenever it holds the lower line and not the upper one, the reader fetches the upper one, asked
for or not. So a stream of fields through consecutive lines never waits for a line while it
takes at least 2 cycles per line (grant, data) and the port grants every request. Any other
field refills the window at its own line.

A ``wide`` reader's lines are WGT rows (``params.wgt_lines`` lines side by side, one banked
buffer word: rtl/top/buffers.py), so its window and its fields are that many times wider. It
also sees every row read from WGT for any client: a row it is about to ask for that is on the
port's data this cycle is taken from there instead, so readers walking the same rows (the code
readers of one beat) share one read per row.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..buffers import BUF_BITS, read_port
from ..params import TopParams

LINE_BITS_LOG2 = 7          # 128-bit lines


def addr_bits(p: TopParams) -> int:
    """Width of a bit address that reaches past the end of the largest buffer (fields of the
    padding past K are read, then masked)."""
    return p.line_addr_bits + LINE_BITS_LOG2 + 2


def shift_down(m: Module, window, amount, width: int, name: str = "shift", unit: int = 1):
    """``(window >> (amount * unit))[:width]`` as a logarithmic shifter that keeps only the bits
    still needed: the largest step first, after which ``width + unit * (2**k - 1)`` bits are
    enough for the steps below ``unit * 2**k`` (a generic shifter of the whole window cost
    twice the LUTs). Each step is a signal of its own: an expression that used the step before
    twice would be expanded twice per step by the netlist builder (2**15 copies at the U280
    point)."""
    v = window
    for k in reversed(range(len(amount))):
        s = unit << k
        keep = min(width + s - unit, len(v))
        step = Signal(keep, name=f"{name}{k}")
        m.d.comb += step.eq(Mux(amount[k], v[s:s + keep], v[:keep]))
        v = step
    return v[:width]


class FieldReader(wiring.Component):
    """Ports: ``buf`` In(3) (constant per reader use); ``addr`` In(:func:`addr_bits`) the field's
    bit address; ``span`` In(range(width + 1)) the bits of the field the user needs (at most
    ``width``; a field whose span ends in its first line needs only that line); ``req`` In(1);
    ``hit`` Out(1): ``data`` Out(width) holds bits ``[addr, addr + width)``, of which the first
    ``span`` are valid (comb, while ``hit``); ``flush`` In(1): forget the window (a new
    instruction: its buffer may have been rewritten); ``rd`` Out(buffer read port). Timing: a held
    field hits in the cycle it is asked for; the upper line after a slide is asked for in the
    slide's cycle and held 2 cycles later (grant, data); a field outside the window costs a refill:
    1 cycle to move the window, 2 for the lower line, 2 more for the upper one when the field
    crosses into it; each fetch waits for the arbitrated port. Fields must have ``width`` at most a
    line (a WGT row if ``wide``). ``grain``: fields start at multiples of ``2**grain`` bits (the
    address's low bits are ignored), so the shifter has ``grain`` steps fewer. ``single``: no
    field crosses a line (the user's promise), so the window is the lower line alone: no upper
    line, no slide, no read-ahead, a shifter over one line; a field in another line refills."""

    def __init__(self, params: TopParams, width: int, wide: bool = False, grain: int = 0,
                 single: bool = False):
        self.params, self.width, self.wide, self.grain = params, width, wide, grain
        self.single = single
        self.line_log2 = LINE_BITS_LOG2 + ((params.wgt_lines - 1).bit_length() if wide else 0)
        assert width <= 1 << self.line_log2
        super().__init__({"buf": In(BUF_BITS), "addr": In(addr_bits(params)),
                          "span": In(range(width + 1)), "req": In(1), "hit": Out(1),
                          "data": Out(width), "flush": In(1),
                          "rd": Out(read_port(params, wide=wide))})

    def elaborate(self, platform):
        m = Module()
        lg = self.line_log2
        lb = 1 << lg
        base = Signal(addr_bits(self.params) - lg)                    # L
        lo, hi = Signal(lb), Signal(lb)
        have_lo, have_hi, pending, pending_hi = Signal(), Signal(), Signal(), Signal()
        line = self.addr[lg:]
        offset = self.addr[:lg]
        fits = Signal()                          # the field lies within its first line
        m.d.comb += fits.eq(offset + self.span <= lb)
        in_lower = (line == base) & have_lo & (have_hi | fits)
        in_upper = (line == base + 1) & have_hi & fits
        m.d.comb += self.rd.buf.eq(self.buf)
        if self.single:
            m.d.comb += [self.hit.eq((line == base) & have_lo),
                         self.data.eq(shift_down(m, lo, offset[self.grain:], self.width,
                                                 unit=1 << self.grain))]
        else:       # one shifter over the window: a field in the upper line is a line further
            m.d.comb += [self.hit.eq(in_lower | in_upper),
                         self.data.eq(shift_down(m, Cat(lo, hi),
                                                 Cat(offset[self.grain:], line != base),
                                                 self.width, unit=1 << self.grain))]
        def take(line, upper):
            if upper:
                m.d.sync += [hi.eq(line), have_hi.eq(1)]
            else:
                m.d.sync += [lo.eq(line), have_lo.eq(1)]

        def fetch(addr, upper):
            """Ask for line ``addr`` of the buffer, into the upper or the lower line (a wide
            reader takes it off the port if another client's read of it arrives now)."""
            def ask():
                m.d.comb += [self.rd.valid.eq(1),
                             self.rd.addr.eq(addr << (lg - LINE_BITS_LOG2))]
                with m.If(self.rd.ready):
                    m.d.sync += [pending.eq(1), pending_hi.eq(upper)]
            if not self.wide:
                ask()
                return
            with m.If(self.rd.seen & (self.rd.seen_row == addr)):
                take(self.rd.rdata, upper)
            with m.Else():
                ask()

        # a one-line reader never slides and never reads ahead
        two = Const(0, 1) if self.single else Const(1, 1)
        with m.If(~pending):
            with m.If(two & self.req & have_hi & (line == base + 1)):       # slide one line up
                m.d.sync += [lo.eq(hi), base.eq(base + 1), have_hi.eq(0)]
                fetch(base + 2, 1)      # the new upper line at once: one line a field, 2 cycles
            with m.Elif(self.req & (line != base)):                   # refill
                m.d.sync += [base.eq(line), have_lo.eq(0), have_hi.eq(0)]
            with m.Elif(self.req & ~have_lo):
                fetch(base, 0)
            with m.Elif(two & have_lo & ~have_hi):       # read ahead, asked for or not
                fetch(base + 1, 1)
        with m.If(self.rd.rvalid):
            m.d.sync += pending.eq(0)
            with m.If(pending_hi):
                take(self.rd.rdata, 1)
            with m.Else():
                take(self.rd.rdata, 0)
        with m.If(self.flush):     # the window starts at no line: the first field always refills
            m.d.sync += [have_lo.eq(0), have_hi.eq(0), base.eq((1 << len(base)) - 1)]
        return m

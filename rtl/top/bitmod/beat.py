"""The BITMOD engine's code reader: one beat (the ``lanes`` codes of each of the array's rows)
a request, taken from a window of whole WGT rows as one of a few fixed slices.

Why not a bit-addressed field reader: a beat can start at any bit of a row, and a shifter by any
bit over a 16 384-bit row (the U280 design point's) is about 0.28 M 2:1 muxes a reader. The
compiler gives the engine tiles in which it never has to: each tile's codes section starts a
WGT row (compiler.passes.packing.wgt_row_lines) and its last block is stored whole
(golden.quant.packing's full blocks), so every beat address the engine forms, for ``b``-bit
codes, is a multiple of ``R * L * b`` bits past a row start (``R`` the array's rows, ``L`` its
lanes). Inside a row that leaves ``rowbits / gcd(R * L * b, rowbits)`` starting points: 4 for
3-bit codes at the U280 point, 1 for 4-bit ones (a beat is a row). The reader has one slice
multiplexer per code width over those points, then each array row takes its ``L * b`` bits of
the chosen width's slice. The engine refuses tiles that break the rule (TileFault.ALIGN).

The window holds rows ``base .. base + W - 1`` (``W`` the most rows a beat touches, at least
2). A beat hits when it starts in row ``base`` and every row it touches is held. A beat
starting ``d < W`` rows on slides the window down by ``d`` when row ``base + d`` is held, and
asks for the first row missing after the slide in the same cycle; any other beat refills the
window at its row. The reader decides on the beat being asked for, or, in the cycle the engine
takes a beat (``take``), on the one it will ask for next (``ahead``): a stream's slide then
happens with the take, and the next beat hits without a cycle's gap (the array's slot timing
restarts after a cycle without a beat). A held lowest row makes the reader read ahead the first
missing one, asked for or not. One read is in flight at a time (grant, data: 2 cycles).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ...bitmod.params import CODE_BITS, EngineParams
from ..buffers import read_port
from ..params import TopParams
from .reader import LINE_BITS_LOG2, addr_bits
from .timing import beat_slices, window_rows


class BeatReader(wiring.Component):
    """Ports: ``addr`` In(:func:`~.reader.addr_bits`) the beat's bit address in WGT; ``bits``
    In(4) the tile's code width; ``req`` In(1); ``take`` In(1): the beat is taken this cycle and
    ``ahead`` In(addr) is the next one's address; ``hit`` Out(1): ``codes`` Out(rows x lanes x 8)
    holds row ``r``'s ``lanes`` codes at ``[r * lanes * 8, r * lanes * 8 + lanes * bits)`` (comb,
    while ``hit``; the bits above are 0); ``flush`` In(1): forget the window (a new instruction);
    ``rd`` Out(a wide WGT read port). Timing: a held beat hits in the cycle it is asked for; a
    slide (in the take's cycle when ``ahead`` calls for it) takes a cycle and asks for the next
    row in it, which is held 2 cycles later; a refill
    takes a cycle, then 2 per row the beat touches; each read waits for the arbitrated port.
    Addresses must be aligned as the module docstring says; others read wrong codes."""

    def __init__(self, params: TopParams, ep: EngineParams):
        self.params, self.ep = params, ep
        self.window = window_rows(ep, params.wgt_lines)
        super().__init__({"addr": In(addr_bits(params)), "bits": In(4), "req": In(1),
                          "take": In(1), "ahead": In(addr_bits(params)),
                          "hit": Out(1), "codes": Out(ep.rows * ep.lanes * CODE_BITS),
                          "flush": In(1), "rd": Out(read_port(params, wide=True))})

    def elaborate(self, platform):
        m = Module()
        p, W = self.params, self.window
        lg = (p.wgt_row_bits - 1).bit_length()
        row = 1 << lg
        base = Signal(addr_bits(p) - lg)
        win = [Signal(row, name=f"row{i}") for i in range(W)]
        have = Signal(W)
        pending, pending_at = Signal(), Signal(range(W))
        line, offset = self.addr[lg:], self.addr[:lg]
        d = Signal(len(base))           # where the beat asked for starts, from base
        m.d.comb += d.eq(line - base)
        da = Signal(len(base))          # where the next one starts, on a take
        m.d.comb += da.eq(self.ahead[lg:] - base)
        # the row the window moves for, and by how much: both distances are computed from
        # registers, and the take (late: the array's ready) only picks one
        target, dt, go = Signal(len(base)), Signal(len(base)), Signal()
        m.d.comb += [target.eq(Mux(self.take, self.ahead[lg:], line)),
                     dt.eq(Mux(self.take, da, d)), go.eq(self.req | self.take)]
        need = Signal(range(W + 1))             # rows the beat touches
        with m.Switch(self.bits):
            for b, (beat, _) in beat_slices(self.ep, p.wgt_lines).items():
                with m.Case(b):
                    m.d.comb += need.eq(((offset + beat - 1) >> lg) + 1)
        held = Cat(*[have[i] | (need <= i) for i in range(W)]).all()
        m.d.comb += [self.hit.eq((d == 0) & held), self.rd.buf.eq(isa.Buf.WGT)]
        self._slices(m, Cat(*win), offset, lg)

        def first_missing(bits):
            """(any missing, index of the lowest missing row) of a have vector."""
            idx = Signal(range(W), name="missing_at")
            for i in reversed(range(W)):
                with m.If(~bits[i]):
                    m.d.comb += idx.eq(i)
            return ~Cat(*bits).all(), idx

        def fetch(row, at):
            """Ask for WGT row ``row`` into window slot ``at``."""
            m.d.comb += [self.rd.valid.eq(1), self.rd.addr.eq(row << (lg - LINE_BITS_LOG2))]
            with m.If(self.rd.ready):
                m.d.sync += [pending.eq(1), pending_at.eq(at)]

        def fetch_after_slide(dd):
            shifted = [have[i + dd] if i + dd < W else Const(0, 1) for i in range(W)]
            missing, idx = first_missing(shifted)
            with m.If(missing):
                fetch(base + dd + idx, idx)

        missing, idx = first_missing([have[i] for i in range(W)])
        with m.If(~pending):
            with m.If(go & (dt != 0) & (dt < W) & (have >> dt)[0]):
                with m.Switch(dt):                  # slide down by dt
                    for dd in range(1, W):
                        with m.Case(dd):
                            m.d.sync += [win[i].eq(win[i + dd]) for i in range(W - dd)]
                            m.d.sync += have.eq(have >> dd)
                            fetch_after_slide(dd)
                m.d.sync += base.eq(target)
            with m.Elif(go & (dt != 0)):                              # refill
                m.d.sync += [base.eq(target), have.eq(0)]
            with m.Elif(missing & (have[0] | go)):
                fetch(base + idx, idx)                     # the beat's rows, or read ahead
        with m.If(self.rd.rvalid):
            m.d.sync += pending.eq(0)
            with m.Switch(pending_at):
                for i in range(W):
                    with m.Case(i):
                        m.d.sync += [win[i].eq(self.rd.rdata), have[i].eq(1)]
        with m.If(self.flush):     # the window starts at no row: the first beat always refills
            m.d.sync += [have.eq(0), base.eq((1 << len(base)) - 1)]
        return m

    def _slices(self, m, window, offset, lg):
        """Each width's beat at its starting point, then each row's codes of the tile's width."""
        ep = self.ep
        sliced = {}
        for b, (beat, grain) in beat_slices(ep, self.params.wgt_lines).items():
            points = (1 << lg) // grain
            out = Signal(beat, name=f"beat{b}")
            if points == 1:
                m.d.comb += out.eq(window[:beat])
            else:
                with m.Switch(offset[grain.bit_length() - 1:]):
                    for q in range(points):
                        with m.Case(q):
                            m.d.comb += out.eq(window[q * grain:q * grain + beat])
            sliced[b] = out
        width = ep.lanes * CODE_BITS
        for r in range(ep.rows):
            with m.Switch(self.bits):
                for b, out in sliced.items():
                    piece = ep.lanes * b
                    with m.Case(b):
                        m.d.comb += self.codes[r * width:r * width + piece].eq(
                            out[r * piece:(r + 1) * piece])

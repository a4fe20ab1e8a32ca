"""DMA run walker shared by the LD and ST engines: HBM runs of up to three dimensions (``rel``,
``gather``) cut into AXI INCR bursts, each run checked against its channel's size first.

Runs come in ``compiler.footprint.dma_runs`` order (dimension 2 outer, dimension 1 inner); run
``(j, i)`` starts at ``hbm_addr + j*stride2 + row*stride1 (+ pos0*stride1 when rel)`` with
``row = i``, or ``row = ids[i]`` (the i-th uint32 at META line ``idx_addr``) with ``gather``.
A burst never crosses a 4 KiB boundary (AXI4) nor exceeds ``max_burst_beats`` beats.
"""
from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .buffers import read_port
from .params import TopParams

WIDE = 68            # run arithmetic: pos0 x stride1 + ids x stride1 + ... cannot wrap
LANES = isa.LINE_BYTES


def burst_layout(p: TopParams) -> data.StructLayout:
    """One burst: beat-aligned ``addr``, ``beats`` (1..max), byte lane ``first`` of its first
    byte, ``bytes`` it carries (from ``first`` of beat 0 on, contiguous) and ``head``, the bytes
    of its first beat (``min(bytes, LANES - first)``, so the data side need not compute it)."""
    return data.StructLayout({"addr": p.hbm_addr_bits, "beats": range(p.max_burst_beats + 1),
                              "first": range(LANES), "bytes": range(LANES * p.max_burst_beats + 1),
                              "head": range(LANES + 1)})


def dma_cmd_layout() -> data.StructLayout:
    fields = {f.name: f.width for f in isa.TYPES["LD"].fields if f.name not in ("buf", "buf_addr")}
    return data.StructLayout(fields)


def burst_reach(m: Module, low, max_beats: int, name: str):
    """How far a burst from byte address ``addr`` (``low`` = its low 12 bits) may reach: ``dist``
    bytes to the 4 KiB page end or to the end of ``max_beats`` beats, whichever is nearer, and
    ``beats``, the beats that takes (combinational; depends on nothing but ``low``)."""
    assert 1 <= max_beats <= 256
    # the page end comes first when fewer than max_beats beats are left in it (a constant compare)
    page_first = low[4:12] >= 256 - max_beats
    dist = Signal(range(4096 + 1), name=f"{name}_dist")
    beats = Signal(range(max_beats + 1), name=f"{name}_beats")
    m.d.comb += [dist.eq(Mux(page_first, 4096 - low[:12], max_beats * LANES - low[:4])),
                 beats.eq(Mux(page_first, 256 - low[4:12], max_beats))]
    return SimpleNamespace(dist=dist, beats=beats)


def burst_cut(m: Module, addr, rem, dist, dist_beats, max_beats: int):
    """The next burst of the ``rem`` bytes from byte address ``addr`` (combinational), given
    the reach ``dist`` / ``dist_beats`` of :func:`burst_reach` for ``addr`` (registered by the
    caller): ``beats`` = min(beats to cover them, beats to the 4 KiB page end, ``max_beats``),
    the ``bytes`` of the run it carries, ``head`` of them in its first beat, and ``fits``: the
    run ends inside this burst. A run that goes on after a burst goes on from ``addr + dist``
    with ``rem - dist`` bytes, so the walker's next address does not wait for this compare."""
    first = addr[:4]
    big = rem >= 4096                       # an OR of rem's high bits: no carry chain
    fits = Signal()
    m.d.comb += fits.eq(~big & (rem[:13] <= dist))
    nbytes = Signal(range(LANES * max_beats + 1))
    beats = Signal(range(max_beats + 1), name="beats")
    m.d.comb += [nbytes.eq(Mux(fits, rem[:13], dist)),
                 beats.eq(Mux(fits, (first + rem[:13] + LANES - 1) >> 4, dist_beats))]
    # min(nbytes, LANES - first) = min(rem, LANES - first): a burst spans at least its first
    # beat, so only a run ending inside that beat makes it shorter (a 4-bit add, beside the rest)
    head = Signal(range(LANES + 1))
    ends_in_beat = ~rem[4:].any() & ~(rem[:4] + first)[4]
    m.d.comb += head.eq(Mux(ends_in_beat, rem[:4], LANES - first))
    return SimpleNamespace(beats=beats, bytes=nbytes, head=head, fits=fits)


class RunWalker(wiring.Component):
    """Ports: ``start`` In(1) (pulse; ``cmd`` (the DMA fields of the instruction) and ``pos0``
    must hold from two cycles before it, ``limit`` (bytes of the instruction's channel; 0 = no
    such channel; registered in every idle cycle) from it, until ``busy`` falls: ``pos0 x
    stride1`` is a product pipelined in two registered stages (four 16 x 16 partial products,
    then their sum; the engines start the walker two cycles after their own start at the
    earliest, when the range check is ready), taken every cycle, so that the multiplier is
    not in front of the run's 68-bit base addition); ``bursts`` Out(stream of
    :func:`burst_layout`); ``ids`` Out(read port) for gather row ids (META); ``busy``
    Out(1); ``fault`` Out(1) (one-cycle pulse: run ``[fault_lo, fault_hi)`` lies outside the
    channel; the walker stops). With ``cmd.zero_fill`` runs are not range-checked (they read no
    HBM), as in sim.isa.
    Timing (META granted at once, bursts taken at once): 5 busy cycles per run plus one per
    burst, 3 more per gathered run (sim/top/perf_timing.py's WALK_RUN and WALK_GATHER, checked
    in tests/rtl/top/test_walker.py); runs and bursts do not overlap, which costs nothing when
    bursts are long and a few cycles per short run."""

    def __init__(self, params: TopParams, gather: bool):
        self.params, self.gather = params, gather
        super().__init__({
            "start": In(1), "cmd": In(dma_cmd_layout()), "pos0": In(32), "limit": In(64),
            "bursts": Out(stream.Signature(burst_layout(params))),
            "ids": Out(read_port(params)),
            "busy": Out(1), "fault": Out(1), "fault_lo": Out(64), "fault_hi": Out(64)})

    def elaborate(self, platform):
        m = Module()
        p, cmd = self.params, self.cmd
        plane, plane_len, row_off, cur, hi = (Signal(WIDE, name=n) for n in
                                              ("plane", "plane_len", "row_off", "cur", "hi"))
        i, j = Signal(16), Signal(16)
        # the channel's size, registered (the channel's select and the zero test were in front
        # of the run's range compare and the fault report, a worst path of the shell on ECP5)
        limit, absent = Signal(64), Signal()
        rel_off = Signal(WIDE)
        m.d.sync += rel_off.eq(partial_products(m, self.pos0, cmd.stride1, "rel"))
        # a gathered row's id x stride1: the META word is registered as it arrives, its partial
        # products in ID_PART and their sum in ID_MUL (a 32 x 32 product in ID_MUL alone, then
        # the BRAM's output through the multipliers, were the shell's worst paths on ECP5); the
        # request goes out from ROW already, so a gathered run takes as many cycles as before
        id_word = Signal(32)
        with m.If(self.ids.rvalid):
            m.d.sync += id_word.eq(self.ids.rdata.word_select(i[:2], 32))
        id_off = partial_products(m, id_word, cmd.stride1, "id")
        c1 = Mux(cmd.count1 == 0, 1, cmd.count1)
        c2 = Mux(cmd.count2 == 0, 1, cmd.count2)
        # The bursts of a run are cut from its AXI address modulo 2**hbm_addr_bits (``addr``)
        # and the bytes left (``rem``): narrow carry chains instead of 68-bit ones, the same
        # bursts (a 4 KiB page and the beat grid only depend on the low address bits).
        addr = Signal(p.hbm_addr_bits)
        rem = Signal(cmd.length.shape())
        # the burst's reach from `addr`, registered: in RANGE for a run's first burst, in BURST
        # for the next one from `addr + dist` (the address loop through the reach, the rem
        # compare and the add was the shell's worst path on ECP5, seeds 3 and 4)
        dist = Signal(range(4096 + 1))
        dist_beats = Signal(range(p.max_burst_beats + 1))
        burst = burst_cut(m, addr, rem, dist, dist_beats, p.max_burst_beats)
        nxt = addr[:12] + dist
        reach_now = burst_reach(m, addr, p.max_burst_beats, "reach")
        reach_next = burst_reach(m, nxt, p.max_burst_beats, "reach_next")
        out = self.bursts.payload
        m.d.comb += [out.addr.eq(addr & ~(LANES - 1)), out.beats.eq(burst.beats),
                     out.first.eq(addr[:4]), out.bytes.eq(burst.bytes), out.head.eq(burst.head)]
        m.d.comb += [self.ids.buf.eq(isa.Buf.META), self.ids.addr.eq(cmd.idx_addr + (i >> 2))]
        with m.FSM():
            with m.State("IDLE"):
                # loaded every idle cycle, not on `start`: nothing reads them before ROW, and
                # the engines' start decision (the range check) then drives the state alone
                m.d.sync += [i.eq(0), j.eq(0), row_off.eq(0),
                             plane.eq(cmd.hbm_addr + Mux(cmd.rel, rel_off, 0)),
                             limit.eq(self.limit), absent.eq(self.limit == 0)]
                with m.If(self.start):
                    m.next = "ROW"
            with m.State("ROW"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += plane_len.eq(plane + cmd.length)   # plane is stable from here on
                if self.gather:
                    with m.If(cmd.gather):
                        m.d.comb += self.ids.valid.eq(1)
                        with m.If(self.ids.ready):
                            m.next = "ID_WAIT"
                        with m.Else():
                            m.next = "ID"
                    with m.Else():
                        m.next = "CHECK"
                else:
                    m.next = "CHECK"
            if self.gather:
                with m.State("ID"):
                    m.d.comb += [self.busy.eq(1), self.ids.valid.eq(1)]
                    with m.If(self.ids.ready):
                        m.next = "ID_WAIT"
                with m.State("ID_WAIT"):
                    m.d.comb += self.busy.eq(1)
                    with m.If(self.ids.rvalid):
                        m.next = "ID_PART"
                with m.State("ID_PART"):
                    m.d.comb += self.busy.eq(1)
                    m.next = "ID_MUL"
                with m.State("ID_MUL"):
                    m.d.comb += self.busy.eq(1)
                    m.d.sync += row_off.eq(id_off)
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [cur.eq(plane + row_off), hi.eq(plane_len + row_off),
                             addr.eq(plane + row_off), rem.eq(cmd.length)]
                m.next = "RANGE"
            with m.State("RANGE"):
                m.d.comb += self.busy.eq(1)
                with m.If(~cmd.zero_fill & (absent | (hi > limit))):
                    m.d.comb += [self.fault.eq(1), self.fault_lo.eq(cur), self.fault_hi.eq(hi)]
                    m.next = "IDLE"
                with m.Else():
                    m.next = "BURST"
                m.d.sync += [dist.eq(reach_now.dist), dist_beats.eq(reach_now.beats)]
            with m.State("BURST"):
                m.d.comb += [self.busy.eq(1), self.bursts.valid.eq(rem != 0)]
                with m.If(rem == 0):
                    m.next = "NEXT"
                with m.Elif(self.bursts.ready):
                    # a run that ends here leaves `addr` and the reach stale: CHECK and RANGE
                    # load them again for the next run
                    m.d.sync += [addr.eq(addr + dist), rem.eq(Mux(burst.fits, 0, rem - dist)),
                                 dist.eq(reach_next.dist), dist_beats.eq(reach_next.beats)]
            with m.State("NEXT"):
                m.d.comb += self.busy.eq(1)
                with m.If(i + 1 < c1):
                    m.d.sync += [i.eq(i + 1), row_off.eq(row_off + cmd.stride1)]
                    m.next = "ROW"
                with m.Elif(j + 1 < c2):
                    m.d.sync += [i.eq(0), j.eq(j + 1), row_off.eq(0),
                                 plane.eq(plane + cmd.stride2)]
                    m.next = "ROW"
                with m.Else():
                    m.next = "IDLE"
        return m


def partial_products(m: Module, a, b, name: str):
    """``a x b`` (32-bit unsigned each) one cycle late, as the sum of four registered 16 x 16
    partial products (one hardware multiplier each, no adder in front of their registers: a
    32 x 32 product in one cycle was the shell's worst path on ECP5); the caller registers
    the sum, so the product is two cycles behind its operands."""
    parts = {}
    for i in range(2):
        for k in range(2):
            part = parts[i, k] = Signal(32, name=f"{name}_part{i}{k}")
            m.d.sync += part.eq(a[16 * i:16 * i + 16] * b[16 * k:16 * k + 16])
    return (parts[0, 0] + ((parts[0, 1] + parts[1, 0]) << 16)) + (parts[1, 1] << 32)

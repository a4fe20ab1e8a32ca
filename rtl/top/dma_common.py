"""Pieces the LD and ST engines share: the on-chip range check and the burst descriptor."""
from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Elaboratable, Module, Mux, Signal, signed
from amaranth.lib import data, fifo

from ...compiler import isa
from .aligner import Aligner
from .faults import Fault
from .params import TopParams
from .walker import LANES, RunWalker, partial_products


def burst_desc(p: TopParams) -> data.StructLayout:
    """What the data side of an engine needs of an issued burst (``zero``: LD zero_fill;
    ``head``: bytes of the first beat, from the walker)."""
    return data.StructLayout({"beats": range(p.max_burst_beats + 1), "first": range(LANES),
                              "bytes": range(LANES * p.max_burst_beats + 1),
                              "head": range(LANES + 1), "zero": 1})


def drive_walker(m: Module, walker, view, limits) -> None:
    """Connect a DMA instruction's fields and its channel's size to a RunWalker."""
    for name in walker.cmd.shape().members:
        m.d.comb += getattr(walker.cmd, name).eq(view[name] if name in dict(iter(view.shape()))
                                                 else 0)
    with m.Switch(view.channel):
        for c, limit in enumerate(limits):
            with m.Case(c):
                m.d.comb += walker.limit.eq(limit)


class BufferRange(Elaboratable):
    """Byte range ``[lo, hi)`` of a DMA's on-chip side and whether it fits its buffer:
    ``lo = buf_addr * 16``, ``hi = lo + total`` with ``total = length * count1 * count2`` (counts
    of 0 mean 1). Inputs are held from the ``start`` pulse on. ``ready`` rises 2 cycles later
    with ``ok`` and ``total``, ``hi_ready`` 3 cycles later with ``hi``; both stay until the next
    ``start``.

    The decision needs ``total`` only up to the largest buffer's size, so it is computed in
    ``k = size.bit_length()`` bits (one hardware multiplier per stage on ECP5, 17 x 17 for
    64 KiB) with a flag for every operand or product that leaves them: ``total`` is exact
    whenever ``ok``. The exact 56-bit product for the fault report takes a stage more (four
    registered 16 x 16 partial products of ``length`` x ``count1 * count2``); a wide product
    in the decision's cycle was the shell's worst path on ECP5 (docs/results/resources.md).
    ``ok`` compares ``total`` with the room left above ``lo`` (a register taken at ``start``)."""

    def __init__(self, p: TopParams):
        self.p = p
        self.start = Signal()
        self.buf, self.buf_addr = Signal(3), Signal(20)
        self.length, self.count1, self.count2 = Signal(24), Signal(16), Signal(16)
        self.k = max(p.buffer_bytes).bit_length()
        self.ready, self.ok, self.hi_ready = Signal(), Signal(), Signal()
        self.lo, self.hi, self.total = Signal(64), Signal(64), Signal(self.k)

    def elaborate(self, platform):
        m = Module()
        k = self.k
        c1 = Mux(self.count1 == 0, 1, self.count1)
        c2 = Mux(self.count2 == 0, 1, self.count2)
        step = Signal(range(4))
        with m.If(self.start):
            m.d.sync += step.eq(1)
        with m.Elif((step != 0) & (step != 3)):
            m.d.sync += step.eq(step + 1)
        # the decision: k-bit products, `over` once a factor or product reaches 2**k (the other
        # factors are at least 1, except a length of 0, which makes every product 0)
        part, over1, over = Signal(2 * k), Signal(), Signal()
        total = Signal(2 * k)
        m.d.sync += [part.eq(self.length[:k] * c1[:k]),
                     over1.eq(self.length[k:].any() | (c1[k:].any() & self.length.any())),
                     total.eq(part[:k] * c2[:k]),
                     over.eq(over1 | part[k:].any() | (c2[k:].any() & part.any()))]
        # the report: the exact product, a stage later
        counts = Signal(32)
        m.d.sync += counts.eq(c1 * c2)
        wide = Signal(56)
        m.d.sync += wide.eq(partial_products(m, self.length, counts, "range"))
        size = Signal(range(max(self.p.buffer_bytes) + 1))
        with m.Switch(self.buf):
            for b in isa.Buf:
                with m.Case(b):
                    m.d.comb += size.eq(self.p.buffer_bytes[b])
        room = Signal(signed(len(size) + 1))            # size - lo, or -1 when lo > size
        m.d.comb += self.lo.eq(self.buf_addr * LANES)
        with m.If(self.start):
            m.d.sync += room.eq(Mux(self.lo > size, -1, size - self.lo))
        fits = ~over & ~total[k:].any()
        m.d.comb += [self.ready.eq(step >= 2), self.hi_ready.eq(step == 3),
                     self.total.eq(total[:k]), self.hi.eq(self.lo + wide),
                     self.ok.eq(fits & ~room[-1] & (total[:k] <= room.as_unsigned()))]
        return m


def dma_front(m: Module, p: TopParams, view, limits, pos0, gather: bool) -> SimpleNamespace:
    """The parts both engines have, wired to the instruction's fields: ``walker``, ``align``,
    ``bursts`` (descriptor FIFO, written with each burst the walker hands over: the caller
    drives ``bursts.w_en`` and the walker's ``ready``), ``range`` (the on-chip range check)."""
    walker = m.submodules.walker = RunWalker(p, gather=gather)
    align = m.submodules.align = Aligner()
    bursts = m.submodules.bursts = fifo.SyncFIFOBuffered(width=burst_desc(p).size,
                                                          depth=p.outstanding)
    rng = m.submodules.range = BufferRange(p)
    drive_walker(m, walker, view, limits)
    b, w_desc = walker.bursts.payload, data.View(burst_desc(p), bursts.w_data)
    m.d.comb += [walker.pos0.eq(pos0), w_desc.beats.eq(b.beats), w_desc.first.eq(b.first),
                 w_desc.bytes.eq(b.bytes), w_desc.head.eq(b.head), rng.buf.eq(view.buf),
                 rng.buf_addr.eq(view.buf_addr),
                 rng.length.eq(view.length), rng.count1.eq(view.count1),
                 rng.count2.eq(view.count2)]
    return SimpleNamespace(walker=walker, align=align, bursts=bursts, range=rng)


def at_most_a_line(count):
    """min(count, LANES): the bytes of a stream's next beat."""
    return Mux(count < LANES, count, LANES)


class ByteCountdown:
    """Bytes ``left`` of a stream and ``line`` = min(left, LANES), the next beat's bytes, both
    registers: the aligner's arithmetic starts from ``line``, and computing it from ``left``
    in the same cycle (a compare in front of the aligner's handshakes) was the shell's worst
    path on ECP5 twice, in LD and in ST (docs/results/resources.md). ``load``/``take``
    return the statements for the sync domain."""

    def __init__(self, p: TopParams, name: str):
        self.left = Signal(range(max(p.buffer_bytes) + 1), name=f"{name}_left")
        self.line = Signal(range(LANES + 1), name=f"{name}_line")

    def load(self, count) -> list:
        return [self.left.eq(count), self.line.eq(at_most_a_line(count))]

    def take(self) -> list:
        """A beat of ``line`` bytes went out."""
        return self.load(self.left - self.line)


def burst_beats(m: Module, p: TopParams, bursts) -> SimpleNamespace:
    """The beats of the burst at the head of ``bursts``: ``desc``, the current beat's byte lane
    ``lane`` and byte ``count``, ``last`` (its last beat). The caller drives ``advance`` when a
    beat passes; the descriptor is popped after its last beat."""
    # Lane and count reach the aligners through one mux from registers and the descriptor:
    # the first beat's count is the walker's `head`, a later beat's min(left, 16) is kept in
    # `tail` beside `left` (comparing `left` here was the shell's worst path on ECP5).
    desc = data.View(burst_desc(p), bursts.r_data)
    beat = Signal(range(p.max_burst_beats + 1))
    left = Signal(range(LANES * p.max_burst_beats + 1))
    tail = Signal(range(LANES + 1))
    first = Signal(init=1)
    advance = Signal()
    lane = Mux(first, desc.first, 0)
    count = Mux(first, desc.head, tail)
    last = beat + 1 == desc.beats
    m.d.comb += bursts.r_en.eq(advance & last)
    with m.If(advance):
        after = Mux(first, desc.bytes, left) - count
        m.d.sync += [beat.eq(Mux(last, 0, beat + 1)), first.eq(last), left.eq(after),
                     tail.eq(at_most_a_line(after))]
    return SimpleNamespace(desc=desc, lane=lane, count=count, last=last, advance=advance)


def registered_resp(m: Module, bad, resp) -> tuple[Signal, Signal]:
    """A non-OKAY response report (``bad``, ``resp``) a cycle late: the AXI ports sit across the
    die from the fault flags, so the response's path to the engine's `faulted` enable was the
    shell's worst route on ECP5 (docs/results/resources.md). An engine leaves its run state no
    earlier than the cycle after its last response, so the late report still finds it there."""
    bad_r, resp_r = Signal(name="bad_resp"), Signal.like(resp, name="resp")
    m.d.sync += [bad_r.eq(bad), resp_r.eq(resp)]
    return bad_r, resp_r


def run_faults(m: Module, unit, walker, bad_resp, faulted, resp, channel) -> None:
    """While the runs go: a run outside its channel, or the first non-OKAY AXI response."""
    from .unit import pulse_fault
    with m.If(walker.fault):
        pulse_fault(m, unit, Fault.HBM_RANGE, walker.fault_lo, walker.fault_hi, channel)
    with m.Elif(bad_resp & ~faulted):
        pulse_fault(m, unit, Fault.AXI_RESP, resp, 0, channel)

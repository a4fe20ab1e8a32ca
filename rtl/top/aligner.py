"""Byte realigner of the DMA engines: any byte alignment in, any byte alignment out.

Input beats carry ``count`` valid bytes starting at lane ``lo`` of a 16-byte line; their valid
bytes form one continuous byte stream. Each request on ``need`` asks for the next ``c`` bytes
of that stream placed at lanes ``o .. o+c-1`` of an output line (with byte strobes); ``tag``
travels with the request to the output (the ST engine's ``wlast``). A 48-byte window holds the
bytes in between, so one input and one output beat pass per cycle in steady state although an
input beat is accepted only when it fits beside everything the window holds (not counting the
bytes leaving in the same cycle): ``i.ready`` is a function of registers and the beat's count,
never of ``o.ready``, so the AXI handshakes (R into an LD, buffer reads into an ST) and the
buffer write arbiters are not one combinational path (it was the top's longest on ECP5,
docs/results/resources.md).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

LANES = 16
WINDOW = 3 * LANES          # bytes held at most
RING = 4 * LANES            # ring bytes: a line more than the window, so that the 16 bytes at
#                             the write pointer are always free and the pointers wrap for free

in_layout = data.StructLayout({"data": 8 * LANES, "lo": range(LANES), "count": range(LANES + 1)})
need_layout = data.StructLayout({"o": range(LANES), "c": range(LANES + 1), "tag": 1})
out_layout = data.StructLayout({"data": 8 * LANES, "strb": LANES, "tag": 1})


class Aligner(wiring.Component):
    """Ports: ``i`` In(stream of ``in_layout``), ``need`` In(stream of ``need_layout``),
    ``o`` Out(stream of ``out_layout``), ``clear`` In(1) (drop the window's bytes; the engines
    pulse it when an instruction starts). Timing: ``o`` is combinational from the window
    register (zero latency once the bytes are in); an input beat enters the window at the clock
    edge that accepts it; throughput one input and one output beat per cycle. Requests must have
    ``o + c <= 16`` and ``c >= 1``. Lanes of ``o.payload.data`` outside ``strb`` are arbitrary.

    The window is a ring of ``RING`` bytes with a read and a write pointer: an input beat is
    written at the write pointer whatever the output does, and an emit only moves the read
    pointer, so the output handshake (``need``'s count -> ``have`` -> the consumer's ``ready``)
    ends in three small counters instead of steering a 48-byte insertion shift (the shell's
    worst path on ECP5, docs/results/resources.md). The ring is a line longer than the 48
    bytes it may hold, so the 16 bytes at the write pointer are free whatever it holds: they
    take the input's bytes every cycle, taken or not (free bytes are never read, and the next
    beat taken is written at the same place), and the write enables are a function of the
    write pointer alone. Because the ring is a multiple of 16 bytes long, ring byte ``p``
    always takes beat byte ``(lo - wr + p) mod 16``: one 16-byte rotation of the beat serves
    every ring position."""

    def __init__(self):
        super().__init__({"i": In(stream.Signature(in_layout)),
                          "need": In(stream.Signature(need_layout)),
                          "o": Out(stream.Signature(out_layout)),
                          "clear": In(1)})

    def elaborate(self, platform):
        m = Module()
        ring = Signal(8 * RING)
        n = Signal(range(WINDOW + 1))                  # bytes held
        rd, wr = Signal(range(RING)), Signal(range(RING))   # wrap at RING by their width
        need, beat = self.need.payload, self.i.payload
        have = n >= need.c
        base = Signal(range(RING))                     # ring byte that lands in output lane 0
        m.d.comb += base.eq(rd - need.o)
        doubled = Cat(ring, ring[:8 * (LANES - 1)])
        m.d.comb += [self.o.valid.eq(self.need.valid & have),
                     self.o.payload.data.eq((doubled >> (base * 8))[:8 * LANES]),
                     self.o.payload.strb.eq(
                         (~(Const((1 << LANES) - 1, LANES) << need.c))[:LANES] << need.o),
                     self.o.payload.tag.eq(need.tag),
                     self.need.ready.eq(self.o.ready & have)]
        emit = self.need.valid & self.need.ready
        m.d.comb += self.i.ready.eq(n + beat.count <= WINDOW)
        take = self.i.valid & self.i.ready
        rot = Signal(8 * LANES)
        m.d.comb += rot.eq(Cat(beat.data, beat.data) >> ((beat.lo - wr)[:4] * 8))
        out_c = Mux(emit, need.c, 0)
        in_c = Mux(take, beat.count, 0)
        with m.If(self.clear):
            m.d.sync += [n.eq(0), rd.eq(0), wr.eq(0)]
        with m.Else():
            m.d.sync += [n.eq(n - out_c + in_c), rd.eq(rd + out_c), wr.eq(wr + in_c)]
        for p in range(RING):
            with m.If((p - wr)[:len(wr)] < LANES):     # ring byte p is stream byte p - wr
                lane = p % LANES
                m.d.sync += ring[8 * p:8 * p + 8].eq(rot[8 * lane:8 * lane + 8])
        return m

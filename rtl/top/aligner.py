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
WINDOW = 3 * LANES

in_layout = data.StructLayout({"data": 8 * LANES, "lo": range(LANES), "count": range(LANES + 1)})
need_layout = data.StructLayout({"o": range(LANES), "c": range(LANES + 1), "tag": 1})
out_layout = data.StructLayout({"data": 8 * LANES, "strb": LANES, "tag": 1})


class Aligner(wiring.Component):
    """Ports: ``i`` In(stream of ``in_layout``), ``need`` In(stream of ``need_layout``),
    ``o`` Out(stream of ``out_layout``), ``clear`` In(1) (drop the window's bytes; the engines
    pulse it when an instruction starts). Timing: ``o`` is combinational from the window
    register (zero latency once the bytes are in); an input beat enters the window at the clock
    edge that accepts it; throughput one input and one output beat per cycle. Requests must have
    ``o + c <= 16`` and ``c >= 1``."""

    def __init__(self):
        super().__init__({"i": In(stream.Signature(in_layout)),
                          "need": In(stream.Signature(need_layout)),
                          "o": Out(stream.Signature(out_layout)),
                          "clear": In(1)})

    def elaborate(self, platform):
        m = Module()
        win = Signal(8 * WINDOW)
        n = Signal(range(WINDOW + 1))
        need = self.need.payload
        have = n >= need.c
        m.d.comb += [self.o.valid.eq(self.need.valid & have),
                     self.o.payload.data.eq((win[:8 * LANES] << (need.o * 8))[:8 * LANES]),
                     self.o.payload.strb.eq(
                         (~(Const((1 << LANES) - 1, LANES) << need.c))[:LANES] << need.o),
                     self.o.payload.tag.eq(need.tag),
                     self.need.ready.eq(self.o.ready & have)]
        emit = self.need.valid & self.need.ready
        n1 = Signal.like(n)
        w1 = Signal.like(win)
        m.d.comb += [n1.eq(Mux(emit, n - need.c, n)), w1.eq(Mux(emit, win >> (need.c * 8), win))]
        beat = self.i.payload
        m.d.comb += self.i.ready.eq(n + beat.count <= WINDOW)
        rotated = Signal(8 * LANES)
        m.d.comb += rotated.eq(Cat(beat.data, beat.data) >> (beat.lo * 8))
        valid_bytes = Signal(8 * LANES)
        for lane in range(LANES):
            m.d.comb += valid_bytes[8 * lane:8 * lane + 8].eq(
                Mux(lane < beat.count, rotated[8 * lane:8 * lane + 8], 0))
        take = self.i.valid & self.i.ready
        with m.If(self.clear):
            m.d.sync += [win.eq(0), n.eq(0)]
        with m.Elif(take):
            m.d.sync += [win.eq(w1 | (valid_bytes << (n1 * 8))), n.eq(n1 + beat.count)]
        with m.Else():
            m.d.sync += [win.eq(w1), n.eq(n1)]
        return m

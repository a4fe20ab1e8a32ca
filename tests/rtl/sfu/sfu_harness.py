"""Bench wrapper of the SFU: beats of ``K`` elements in, beats of up to ``K`` results out, each
side behind a FIFO, so the cocotb side moves ``K`` elements per handshake and can skip cycles
while the SFU works (no per-element Python per cycle)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from bitflight.rtl.sfu.layouts import ELEMENT, RESULT
from bitflight.rtl.sfu.params import SfuParams
from bitflight.rtl.sfu.sfu import Sfu

K = 8
COUNT_BITS = 4
IN_BITS = K * ELEMENT.size + COUNT_BITS
OUT_BITS = K * RESULT.size + COUNT_BITS


class SfuHarness(wiring.Component):
    """Ports: In ``op imm eps cols`` (to the SFU); In ``push`` + ``in_beat`` (K elements, count in
    the top bits), Out ``in_room``; In ``pop``, Out ``out_avail`` + ``out_beat``; Out ``idle``."""

    def __init__(self, params: SfuParams = SfuParams()):
        self.sfu = Sfu(params)
        super().__init__({"op": In(4), "imm": In(16), "eps": In(32), "cols": In(16),
                          "push": In(1), "in_beat": In(IN_BITS), "in_room": Out(1),
                          "pop": In(1), "out_avail": Out(1), "out_beat": Out(OUT_BITS),
                          "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        sfu = m.submodules.sfu = self.sfu
        fin = m.submodules.fin = SyncFIFOBuffered(width=IN_BITS, depth=16)
        fout = m.submodules.fout = SyncFIFOBuffered(width=OUT_BITS, depth=16)
        m.d.comb += [sfu.op.eq(self.op), sfu.imm.eq(self.imm), sfu.eps.eq(self.eps),
                     sfu.cols.eq(self.cols),
                     fin.w_data.eq(self.in_beat), fin.w_en.eq(self.push), self.in_room.eq(fin.w_rdy),
                     self.out_beat.eq(fout.r_data), self.out_avail.eq(fout.r_rdy),
                     fout.r_en.eq(self.pop)]
        # serializer: element `index` of the FIFO's head beat
        es = ELEMENT.size
        index = Signal(range(K))
        count = fin.r_data[K * es:]
        m.d.comb += [sfu.i.valid.eq(fin.r_rdy),
                     sfu.i.payload.eq(fin.r_data.word_select(index, es))]
        with m.If(sfu.i.valid & sfu.i.ready):
            with m.If(index + 1 == count):
                m.d.comb += fin.r_en.eq(1)
                m.d.sync += index.eq(0)
            with m.Else():
                m.d.sync += index.eq(index + 1)
        # deserializer: results gathered into a beat, sent when full or at the end of a row
        rs = RESULT.size
        beat = Signal(K * rs)
        got = Signal(range(K + 1))
        flush = Signal()
        m.d.comb += [sfu.o.ready.eq(~flush), fout.w_data.eq(beat | (got << (K * rs))),
                     fout.w_en.eq(flush)]
        with m.If(flush & fout.w_rdy):
            m.d.sync += [flush.eq(0), got.eq(0), beat.eq(0)]
        with m.If(sfu.o.valid & sfu.o.ready):
            m.d.sync += [beat.word_select(got[:3], rs).eq(sfu.o.payload), got.eq(got + 1)]
            with m.If((got + 1 == K) | sfu.o.payload.last):
                m.d.sync += flush.eq(1)
        m.d.comb += self.idle.eq(sfu.idle & ~fin.r_rdy & ~flush)
        return m

"""A stand-alone BitMoD PE with stream ports (registry target ``bitmod-pe``)."""
from __future__ import annotations

from dataclasses import replace

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import layouts
from .array import BitmodArray
from .layouts import FLAGS, pe_in_layout
from .params import FP16_BITS, EngineParams, slots_of


class BitmodPe(wiring.Component):
    """4-lane bit-serial dot-product PE with its dequant, accumulator and fp16 output conversion
    (docs/rtl/bitmod.md): the 1 x 1 case of :class:`~.array.BitmodArray` behind one input
    stream, so the PE and the array are one design.

    Ports:
      - ``i: In(stream(pe_in_layout))``: one chunk per beat: ``lanes`` packed weight codes,
        datatype, stored group scale, row scale, ``lanes`` fp16 activations, first/last/dot_last
        and fp16_scale flags.
      - ``o: Out(stream(unsigned(16)))``: one finished dot product per beat, fp16 bits
        (golden.bitserial.dot).
    Timing: a chunk is accepted every ``slots`` cycles (:meth:`cycles_per_chunk`), so a group of
    G weights takes ``G / lanes * slots`` cycles (:meth:`cycles_per_group`); the result is on
    ``o`` :attr:`latency` cycles after the last chunk's final step. :attr:`throughput`: weights
    per cycle = lanes / slots.
    """

    def __init__(self, p: EngineParams):
        self.p = replace(p, rows=1, cols=1)
        super().__init__({"i": In(stream.Signature(pe_in_layout(self.p))),
                          "o": Out(stream.Signature(FP16_BITS))})

    @property
    def latency(self) -> int:
        return self.p.latency

    def cycles_per_chunk(self, fmt: str) -> int:
        return slots_of(fmt)

    def cycles_per_group(self, fmt: str, group_size: int | None = None) -> int:
        return self.p.cycles_per_group(fmt, group_size)

    def throughput(self, fmt: str) -> float:
        return self.p.lanes / slots_of(fmt)

    def elaborate(self, platform):
        m = Module()
        m.submodules.array = arr = BitmodArray(self.p)
        pay = self.i.payload
        m.d.comb += [arr.weight_row(0).eq(pay.w),
                     arr.a.payload[layouts.col(0)].eq(pay.acts),
                     *[arr.w.payload[name].eq(pay[name]) for name in FLAGS],
                     arr.w.valid.eq(self.i.valid), arr.a.valid.eq(self.i.valid),
                     self.i.ready.eq(arr.w.ready),
                     self.o.valid.eq(arr.o.valid), self.o.payload.eq(arr.o.payload[layouts.row(0)]),
                     arr.o.ready.eq(self.o.ready)]
        return m

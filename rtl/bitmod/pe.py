"""A stand-alone BitMoD PE with stream ports (registry target ``bitmod-pe``)."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .datapath import PeDatapath
from .layouts import pe_in_layout, result_layout
from .params import EngineParams, slots_of
from .sequencer import Sequencer


class BitmodPe(wiring.Component):
    """4-lane bit-serial dot-product PE with bit-serial dequant (docs/rtl/bitmod.md).

    Ports:
      - ``i: In(stream(pe_in_layout))``: one chunk per beat: ``lanes`` packed weight codes,
        datatype, group scale, ``lanes`` fp16 activations, first/last/dot_last flags.
      - ``o: Out(stream(result_layout))``: one finished dot product (mant, exp) per beat;
        value = mant * 2**(exp - lsb_offset) * row_scale * unit (golden.bitserial.finalize).
    Timing: a chunk is accepted every ``slots`` cycles (:meth:`cycles_per_chunk`), so a group of
    ``group_size`` weights takes :meth:`cycles_per_group` cycles; the result is on ``o``
    :attr:`latency` cycles after the last chunk's final step. :attr:`throughput`: weights per
    cycle = lanes / slots.
    """

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"i": In(stream.Signature(pe_in_layout(p))),
                          "o": Out(stream.Signature(result_layout(p)))})

    @property
    def latency(self) -> int:
        return self.p.latency

    def cycles_per_chunk(self, fmt: str) -> int:
        return slots_of(fmt)

    def cycles_per_group(self, fmt: str) -> int:
        return self.p.cycles_per_group(fmt)

    def throughput(self, fmt: str) -> float:
        return self.p.lanes / slots_of(fmt)

    def elaborate(self, platform):
        m = Module()
        m.submodules.seq = seq = Sequencer()
        m.submodules.dp = dp = PeDatapath(self.p)
        pay = self.i.payload
        m.d.comb += [dp.w.eq(pay.w), dp.acts.eq(pay.acts), dp.dot_last.eq(pay.dot_last),
                     seq.valid.eq(self.i.valid), seq.slots.eq(dp.slots), seq.first.eq(pay.first),
                     seq.last.eq(pay.last), seq.can_step.eq(dp.can_step),
                     dp.step.eq(seq.step), dp.slot.eq(seq.slot),
                     dp.group_first.eq(seq.group_first), dp.group_end.eq(seq.group_end),
                     self.i.ready.eq(seq.ready)]
        wiring.connect(m, dp.o, wiring.flipped(self.o))
        return m

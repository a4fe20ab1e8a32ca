"""PE array: rows (output channels) x cols (tokens), registry target ``bitmod-array``."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import layouts
from .datapath import PeDatapath
from .layouts import array_act_layout, array_out_layout, array_weight_layout
from .params import EngineParams, slots_of
from .sequencer import Sequencer


class BitmodArray(wiring.Component):
    """``rows x cols`` PEs in lockstep: row r's weights are shared along the row, column c's
    activations along the column; PE (r, c) computes output channel r of token c.

    Ports:
      - ``w: In(stream(array_weight_layout))``: per row one chunk (packed codes, datatype,
        group scale) plus the first/last/dot_last flags shared by all rows.
      - ``a: In(stream(array_act_layout))``: per column ``lanes`` fp16 activations.
      - ``o: Out(stream(array_out_layout))``: field ``r{row}c{col}`` = (mant, exp) of each PE, one
        beat per finished dot product.
    Timing: a (w, a) beat pair is consumed every ``slots`` cycles, slots = the largest of the
    rows' datatypes (all rows of one quantized matrix have the same); latency and cycles per
    group as :class:`~.pe.BitmodPe`. Every PE stalls when any dequant unit or the output is busy.
    """

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"w": In(stream.Signature(array_weight_layout(p))),
                          "a": In(stream.Signature(array_act_layout(p))),
                          "o": Out(stream.Signature(array_out_layout(p)))})

    @property
    def latency(self) -> int:
        return self.p.latency

    def cycles_per_group(self, fmt: str) -> int:
        return self.p.cycles_per_group(fmt)

    def throughput(self, fmt: str) -> float:
        """Weight x activation products per cycle over the whole array."""
        return self.p.rows * self.p.cols * self.p.lanes / slots_of(fmt)

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.seq = seq = Sequencer()
        pes = [[PeDatapath(p) for _ in range(p.cols)] for _ in range(p.rows)]
        slots = Signal(3)
        can_step, out_valid = 1, 1
        for r in range(p.rows):
            for c in range(p.cols):
                pe = m.submodules[f"pe_{r}_{c}"] = pes[r][c]
                m.d.comb += [pe.w.eq(self.w.payload[layouts.row(r)]),
                             pe.acts.eq(self.a.payload[layouts.col(c)]),
                             pe.dot_last.eq(self.w.payload.dot_last), pe.step.eq(seq.step),
                             pe.slot.eq(seq.slot), pe.group_first.eq(seq.group_first),
                             pe.group_end.eq(seq.group_end),
                             pe.o.ready.eq(self.o.ready & self.o.valid),
                             self.o.payload[layouts.pe(r, c)].eq(pe.o.payload)]
                can_step &= pe.can_step
                out_valid &= pe.o.valid
        row_slots = [pes[r][0].slots for r in range(p.rows)]
        widest = row_slots[0]
        for s in row_slots[1:]:
            widest = Mux(s > widest, s, widest)
        m.d.comb += [slots.eq(widest), seq.slots.eq(slots),
                     seq.valid.eq(self.w.valid & self.a.valid), seq.first.eq(self.w.payload.first),
                     seq.last.eq(self.w.payload.last), seq.can_step.eq(can_step),
                     self.w.ready.eq(seq.ready), self.a.ready.eq(seq.ready),
                     self.o.valid.eq(out_valid)]
        return m

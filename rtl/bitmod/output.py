"""The array's output unit: one fp16 conversion per row, scanning the columns of a finished tile."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from . import layouts
from .finalize import Finalize
from .layouts import array_out_layout, array_results_layout, out_scale_layout
from .params import EngineParams

# Tiles whose output scales are held: one being converted (its results in the PE output
# registers) and one whose last group is in the dequant units. A third cannot exist: a group can
# only close when the dequant unit is idle, and it stays busy until the PE output register is
# free (rtl/bitmod/datapath.py); ``can_push`` backs this up by stalling the array.
SCALE_DEPTH = 2


class ArrayOutput(wiring.Component):
    """Converts a finished rows x cols tile to fp16, one column (token) per cycle.

    Ports:
      - ``results: In(array_results_layout)``, ``results_valid: In(1)``: every PE holds a
        finished dot product (mant, exp); ``take: Out(1)``: all of them are consumed this cycle.
      - ``push: In(1)``, ``push_data: In(rows x out_scale_layout)``, ``can_push: Out(1)``: the
        output scales (row scale, unit shift) of each row of a tile, pushed when its last group
        closes (they travel with the weight stream, the results arrive scale_int_bits + 2
        cycles later).
      - ``o: Out(stream(array_out_layout))``: per column a beat with the fp16 result of every
        row; ``last`` on the tile's last column.
    Timing: column c of a tile whose results are valid in cycle t is on ``o`` from cycle
    t + 2 + c (:attr:`latency` = 2 for column 0, the :class:`~.finalize.Finalize` stages); the
    PE results are taken with the last column, so a tile occupies the unit ``cols`` cycles. The
    pipeline stalls as a whole while ``o`` is valid and not ready.
    """

    latency = Finalize.latency

    def __init__(self, p: EngineParams):
        self.p = p
        self.push_layout = StructLayout({layouts.row(r): out_scale_layout()
                                         for r in range(p.rows)})
        super().__init__({"results": In(array_results_layout(p)), "results_valid": In(1),
                          "take": Out(1), "push": In(1), "push_data": In(self.push_layout),
                          "can_push": Out(1),
                          "o": Out(stream.Signature(array_out_layout(p)))})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.scales = scales = SyncFIFO(width=self.push_layout.size, depth=SCALE_DEPTH)
        m.d.comb += [scales.w_data.eq(self.push_data), scales.w_en.eq(self.push),
                     self.can_push.eq(scales.w_rdy)]
        head = self.push_layout(scales.r_data)

        advance = Signal()       # the whole pipeline moves (its output is free or taken)
        feed, last_col = Signal(), Signal()
        col = Signal(range(max(p.cols, 2)))     # 1 bit for a single column (no 0-bit signal)
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready),
                     feed.eq(self.results_valid & scales.r_rdy & advance),
                     last_col.eq(col == p.cols - 1),
                     self.take.eq(feed & last_col), scales.r_en.eq(feed & last_col)]
        with m.If(feed):
            m.d.sync += col.eq(col + 1)
            with m.If(last_col):
                m.d.sync += col.eq(0)

        for r in range(p.rows):
            fin = m.submodules[f"finalize_{r}"] = Finalize(p.dp)
            m.d.comb += [fin.en.eq(advance), fin.row_scale.eq(head[layouts.row(r)].row_scale),
                         fin.unit_shift.eq(head[layouts.row(r)].unit_shift),
                         self.o.payload[layouts.row(r)].eq(fin.value)]
            with m.Switch(col):
                for c in range(p.cols):
                    with m.Case(c):
                        res = self.results[layouts.pe(r, c)]
                        m.d.comb += [fin.mant.eq(res.mant), fin.exp.eq(res.exp)]

        # valid and last travel beside the conversion's two stages
        s1_valid, s1_last = Signal(), Signal()
        with m.If(advance):
            m.d.sync += [s1_valid.eq(feed), s1_last.eq(feed & last_col),
                         self.o.valid.eq(s1_valid), self.o.payload.last.eq(s1_last)]
        return m

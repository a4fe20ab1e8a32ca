"""The MM/MV engine's row sums: one 16-row block's INT32 dot products, added up from the MPU's
pass results over the block's k-blocks.

Tags travel beside the MPU: per VPU lane, whether it carried a pass and the first row ``r0`` of
that pass in the block; they are delayed by the MPU's latency (its pipeline never stalls here:
the sums take every output beat), so they line up with the results. Row i of the block takes
``res[i mod R]`` of a lane whose pass covers it (``i // R == r0 // R``, R = results per pass).
INT32 cannot overflow: a product is at most 2^14 in magnitude and k < 2^16, so every partial and
total sum stays below 2^30 (the check sim.isa makes can never fire for an ISA-encodable k).
"""
from __future__ import annotations

import functools
import operator

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..delay import delay
from .geometry import ChainGeometry
from .layouts import mpu_out_layout
from .reduction import n_cases, nlog_of
from .slots import slot_count, spread


def tag_layout(geo: ChainGeometry, vpus: int) -> ArrayLayout:
    return ArrayLayout(StructLayout({"used": unsigned(1), "r0": unsigned(4)}), vpus)


class RowSums(wiring.Component):
    """Ports: ``clear`` In(1) (zero every sum); ``push`` In(1) with ``tags`` In(tag_layout): a
    beat entered the MPU this cycle; ``res`` In(mpu_out_layout) with ``res_valid`` In(1): the
    MPU's output; ``sums`` Out(m x signed(acc_bits)); ``mismatch`` Out(1): a result beat arrived
    without its tag (never, if the latency is right; the tests watch it). Timing: a result is in
    ``sums`` the cycle after it leaves the MPU."""

    def __init__(self, geo: ChainGeometry, vpus: int, latency: int):
        self.geo, self.vpus, self.latency = geo, vpus, latency
        super().__init__({"clear": In(1), "push": In(1), "tags": In(tag_layout(geo, vpus)),
                          "res": In(mpu_out_layout(geo, vpus)), "res_valid": In(1),
                          "sums": Out(ArrayLayout(signed(geo.acc_bits), geo.m)),
                          "mismatch": Out(1)})

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        delayed = Signal(Cat(self.push, self.tags).shape())
        m.d.comb += delayed.eq(delay(m, Cat(self.push, self.tags), self.latency, Const(1),
                                     "tag", reset_less=False))
        pushed, tags = delayed[0], tag_layout(geo, self.vpus)(delayed[1:])
        m.d.comb += self.mismatch.eq(pushed != self.res_valid)
        nlog = self.res.vpu[0].nlog
        # each lane's results spread once over S slots (row i takes slot i mod S of the lane
        # whose pass covers it), so a row's operand is a choice between lanes, not a per-N and
        # per-lane select of its own: tiny's sums went from 3 377 to 1 553 LUT on xc7 (2 VPUs)
        width = slot_count(geo)
        slots = [spread(m, self.res.vpu[v].res[0], nlog, geo, width, f"slot{v}")
                 for v in range(self.vpus)]
        for row in range(geo.m):
            hits = [Signal(name=f"hit{row}_{v}") for v in range(self.vpus)]
            for n in n_cases(m, nlog, geo.n_options):
                shift = nlog_of(geo.results_per_pass(n))
                m.d.comb += [h.eq(tags[v].used & ((tags[v].r0 >> shift) == (row >> shift)))
                             for v, h in enumerate(hits)]
            # the last lane that covers the row wins (lanes carry distinct rows); no zero
            # default: the sum's enable is the hit
            add = slots[0][row % width]
            for v in range(1, self.vpus):
                add = Mux(hits[v], slots[v][row % width], add)
            hit = functools.reduce(operator.or_, hits)
            total = self.sums[row]
            with m.If(self.clear):
                m.d.sync += total.eq(0)
            with m.Elif(self.res_valid & pushed & hit):
                m.d.sync += total.eq(total + add)
        return m


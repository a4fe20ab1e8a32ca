"""CSD chain (one VPU): sparse muxes, skewed DSP groups in one cascade, reduction nodes."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..delay import delay
from .dsp_group import DspGroup
from .geometry import ChainGeometry
from .layouts import NLOG_BITS, chain_in_layout, chain_out_layout
from .reduction import ReductionNode, SegmentResults
from .sparse_mux import SparseMux


class CsdChain(wiring.Component):
    """A VPU: ``geo.slices`` DSP slices in groups of ``geo.group`` (docs/rtl/csd.md).

    Ports: ``i`` In(stream of :func:`chain_in_layout`): one pass per beat (activation block per
    token, ``slices`` (weight, index) pairs, ``nlog`` = log2 N, ``w4``, ``last``); ``o`` Out(stream of
    :func:`chain_out_layout`): ``res[token][j]`` for ``j < results_per_pass(N)`` plus ``nlog``
    and ``last`` (packed: and ``rows2``, whose ``res[lane]`` belong to the pass's two row sets).
    Timing: accepts one pass per cycle; a pass accepted at cycle t is on ``o`` at t + ``latency``
    (= slices + 2); back-pressure on ``o`` stalls the whole pipeline (every register has the
    enable ``~o.valid | o.ready``, which synthesis puts on the DSP CE pins).
    """

    def __init__(self, geo: ChainGeometry):
        geo.check()
        self.geo = geo
        super().__init__({"i": In(stream.Signature(chain_in_layout(geo))),
                          "o": Out(stream.Signature(chain_out_layout(geo)))})

    @property
    def latency(self) -> int:
        return self.geo.latency

    @property
    def throughput(self) -> dict[int, float]:
        """Results per cycle for each N (all tokens of a pass)."""
        return {n: self.geo.results_per_cycle(n) for n in self.geo.n_options}

    @property
    def dsp_slices(self) -> int:
        """DSP slices the design is meant to occupy (for synthesis reports)."""
        return self.geo.slices

    def _slice_operands(self, m: Module, en, index: int):
        """Sparse-mux selection and INT4 sign extension of slice ``index``, skewed by ``index``:
        (the packed multiplier operand's lanes, the single operand). A row-packed pass swaps the
        roles: its two rows' weights take the lanes and token 0's activation the single port,
        so the products, the lane decode and the OAU splits are those of a token-packed pass."""
        geo, lane, act = self.geo, self.i.payload.lane, self.i.payload.act
        picked = []
        for t in range(geo.tokens):
            mux = m.submodules[f"mux{index}_{t}"] = SparseMux(geo.m)
            m.d.comb += [mux.cand.eq(act[t]), mux.idx.eq(lane.idx[index])]
            picked.append(mux.y)

        def weight(w):
            return Mux(lane.w4, w[index][:4].as_signed(), w[index])

        lanes, single = picked, weight(lane.w)
        if geo.packed:
            lanes = [Mux(lane.rows2, weight(lane.w), picked[0]),
                     Mux(lane.rows2, weight(lane.w2), picked[1])]
            single = Mux(lane.rows2, picked[0], single)
        bundle = Signal(8 * geo.tokens + 8, name=f"ops{index}")
        m.d.comb += bundle.eq(Cat(*(v[:8] for v in (*lanes, single))))
        skewed = delay(m, bundle, index, en, f"skew{index}")
        a = [skewed[8 * t:8 * t + 8].as_signed() for t in range(geo.tokens)]
        return a, skewed[8 * geo.tokens:].as_signed()

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        lane = self.i.payload.lane
        rows2 = [lane.rows2] if self.geo.packed else []
        status = Signal(2 + NLOG_BITS + len(rows2))
        m.d.comb += status.eq(Cat(self.i.valid, lane.last, lane.nlog, *rows2))
        status_out = delay(m, status, self.latency, en, "status", reset_less=False)
        m.d.comb += [self.o.valid.eq(status_out[0]), self.o.payload.last.eq(status_out[1]),
                     self.o.payload.nlog.eq(status_out[2:2 + NLOG_BITS])]
        if rows2:
            m.d.comb += self.o.payload.rows2.eq(status_out[2 + NLOG_BITS])

        net = m.submodules.results = SegmentResults(geo)
        m.d.comb += [net.nlog.eq(self.o.payload.nlog), self.o.payload.res.eq(net.res)]
        pcin = None
        for g in range(geo.groups):
            grp = m.submodules[f"group{g}"] = DspGroup(size=geo.group, tokens=geo.tokens,
                                                       p_bits=geo.p_bits, first=g == 0,
                                                       primitive=geo.primitive)
            m.d.comb += grp.en.eq(en)
            if pcin is not None:
                m.d.comb += grp.pcin.eq(pcin)
            for k in range(geo.group):
                a, w = self._slice_operands(m, en, g * geo.group + k)
                m.d.comb += [grp.w[k].eq(w)] + [grp.a[k][t].eq(a[t]) for t in range(geo.tokens)]
            pcin = grp.pcout
            rn = m.submodules[f"rn{g}"] = ReductionNode(
                p_bits=geo.p_bits, delay=(geo.groups - 1 - g) * geo.group)
            m.d.comb += [rn.p.eq(grp.p), net.taps[g].eq(rn.q)]
            if rn.delay_cycles:
                m.d.comb += rn.en.eq(en)
        return m

"""CSD chain (one VPU): sparse muxes, skewed DSP groups, OAU side path and reduction nodes."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .delay import delay
from .dsp_group import DspGroup
from .geometry import ChainGeometry
from .layouts import chain_in_layout, chain_out_layout
from .reduction import OverflowAdjust, ReductionNode, side_widths
from .sparse_mux import SparseMux


def nlog_of(n: int) -> int:
    return n.bit_length() - 1


class CsdChain(wiring.Component):
    """A VPU: ``geo.slices`` DSP slices in groups of ``geo.group`` (docs/rtl/csd.md).

    Ports: ``i`` In(stream of :func:`chain_in_layout`): one pass per beat (activation block per
    token, ``slices`` (weight, index) pairs, ``nlog`` = log2 N, ``w4``); ``o`` Out(stream of
    :func:`chain_out_layout`): ``res[token][j]`` for ``j < results_per_pass(N)`` plus ``nlog``.
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

    def _cut(self, m: Module, nlog, group: int) -> Signal:
        cut = Signal(name=f"cut_g{group}")
        with m.Switch(nlog):
            for n in self.geo.n_options:
                with m.Case(nlog_of(n)):
                    m.d.comb += cut.eq(group in self.geo.cut_groups(n))
            with m.Default():  # an N the chain was not built for: one sum over the whole chain
                m.d.comb += cut.eq(group == 0)
        return cut

    def _slice_operands(self, m: Module, en, index: int):
        """Sparse-mux selection, INT4 sign extension and cut of slice ``index``, skewed by ``index``."""
        geo, lane, act = self.geo, self.i.payload.lane, self.i.payload.act
        picked = []
        for t in range(geo.tokens):
            mux = m.submodules[f"mux{index}_{t}"] = SparseMux(geo.m)
            m.d.comb += [mux.cand.eq(act[t]), mux.idx.eq(lane.idx[index])]
            picked.append(mux.y)
        w = Mux(lane.w4, lane.w[index][:4].as_signed(), lane.w[index])
        group, head = divmod(index, geo.group)
        cut = self._cut(m, lane.nlog, group) if head == 0 and group > 0 else None
        parts = [*picked, w.as_signed()[:8]] + ([cut] if cut is not None else [])
        bundle = Signal(8 * geo.tokens + 8 + (cut is not None), name=f"ops{index}")
        m.d.comb += bundle.eq(Cat(*parts))
        skewed = delay(m, bundle, index, en, f"skew{index}")
        a = [skewed[8 * t:8 * t + 8].as_signed() for t in range(geo.tokens)]
        w_skewed = skewed[8 * geo.tokens:8 * geo.tokens + 8].as_signed()
        return a, w_skewed, (skewed[-1] if cut is not None else None)

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        status = Signal(4)
        m.d.comb += status.eq(Cat(self.i.valid, self.i.payload.lane.nlog))
        status_out = delay(m, status, self.latency, en, "status")
        m.d.comb += [self.o.valid.eq(status_out[0]), self.o.payload.nlog.eq(status_out[1:])]

        oau_groups = set(geo.oau_groups)
        groups, pcin = [], None
        for g in range(geo.groups):
            grp = m.submodules[f"group{g}"] = DspGroup(size=geo.group, tokens=geo.tokens,
                                                       p_bits=geo.p_bits, oau=g in oau_groups,
                                                       first=g == 0)
            m.d.comb += grp.en.eq(en)
            if g:
                m.d.comb += grp.pcin.eq(pcin)
            for k in range(geo.group):
                a, w, cut = self._slice_operands(m, en, g * geo.group + k)
                m.d.comb += [grp.w[k].eq(w)] + [grp.a[k][t].eq(a[t]) for t in range(geo.tokens)]
                if cut is not None:
                    m.d.comb += grp.cut.eq(cut)
            groups.append(grp)
            pcin = grp.p

        nodes = self._reduction_nodes(m, en, groups, oau_groups)
        with m.Switch(self.o.payload.nlog):
            for n in geo.n_options:
                with m.Case(nlog_of(n)):
                    for j, g in enumerate(geo.result_groups(n)):
                        m.d.comb += [self.o.payload.res[t][j].eq(nodes[g].res[t])
                                     for t in range(geo.tokens)]
        return m

    def _reduction_nodes(self, m: Module, en, groups, oau_groups):
        geo = self.geo
        n_oau = len(oau_groups)
        lsp_bits, borrow_bits = side_widths(n_oau)
        lsp, borrow = Signal(signed(lsp_bits)), Signal(borrow_bits)   # zero before the first OAU
        nodes = []
        for g, grp in enumerate(groups):
            if geo.packed and n_oau and g > 0 and g >= min(oau_groups):
                adj = m.submodules[f"oau{g}"] = OverflowAdjust(
                    p_bits=geo.p_bits, n_oau=n_oau, oau=g in oau_groups, delay=geo.group)
                m.d.comb += [adj.en.eq(en), adj.cut.eq(grp.cut_add), adj.pcin.eq(groups[g - 1].p),
                             adj.lsp_in.eq(lsp), adj.borrow_in.eq(borrow)]
                lsp, borrow = adj.lsp_out, adj.borrow_out
            rn = m.submodules[f"rn{g}"] = ReductionNode(
                tokens=geo.tokens, p_bits=geo.p_bits, acc_bits=geo.acc_bits,
                delay=(geo.groups - 1 - g) * geo.group, n_oau=n_oau)
            m.d.comb += rn.p.eq(grp.p)
            if rn.delay_cycles:
                m.d.comb += rn.en.eq(en)
            if geo.packed:
                m.d.comb += [rn.lsp.eq(lsp), rn.borrow.eq(borrow)]
            nodes.append(rn)
        return nodes

"""Reduction nodes (one tap per DSP group) and the network that turns taps into per-N results.

The cascade never breaks: every slice adds PCIN, so the P of group g's last slice is the prefix
sum ``Q[g]`` of the pass over slices 0..end(g). A segment (one row's N kept products) is then
``Q[end] - Q[start]``. This is the reduction node's "break the cascade and start a new sum"
(docs/references.md#flightllm-3.1) done arithmetically: Yosys only infers the PCOUT->PCIN cascade
through
constant Z-muxes, so the paper's dynamic zero-select would push every group link into fabric
(docs/rtl/csd.md, "Why differences").

Packed chains decode each part with the lower-lane sign correction, and split a segment at OAU
points so that no part's lower lane holds more than it can (golden.dsp_packing): the OAU's LSP
and MSP are the decoded lanes of the part before the OAU point, added in by the next node.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from ...golden import dsp_packing
from ..delay import delay
from .geometry import ChainGeometry
from .layouts import NLOG_BITS

LANE = dsp_packing.LANE_BITS


def nlog_of(n: int) -> int:
    return n.bit_length() - 1


def n_cases(m: Module, nlog, n_options):
    """Yield each N of ``n_options`` inside its ``m.Case`` of ``nlog``; the last N is the
    ``m.Default()`` (no other code occurs), which leaves the synthesizer fewer select inputs
    per multiplexer (the VPU's row accumulator: 817 -> 733 LUT on xc7)."""
    with m.Switch(nlog):
        for k, n in enumerate(n_options):
            with (m.Default() if k == len(n_options) - 1 else m.Case(nlog_of(n))):
                yield n


class ReductionNode(wiring.Component):
    """The tap at the end of one DSP group, delayed to leave with the chain's last group.

    Ports: ``en`` In(1) (only when there is a delay); ``p`` In(signed(p_bits)) the group's last P;
    ``q`` Out(signed(p_bits)). Timing: ``delay`` cycles (``(groups - 1 - g) * group`` for group g).
    """

    def __init__(self, *, p_bits: int, delay: int):
        self.delay_cycles = delay
        ports = {"p": In(signed(p_bits)), "q": Out(signed(p_bits))}
        if delay:
            ports["en"] = In(1)
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.delay_cycles

    def elaborate(self, platform):
        m = Module()
        en = self.en if self.delay_cycles else None
        m.d.comb += self.q.eq(delay(m, self.p, self.delay_cycles, en, "tap"))
        return m


class SegmentResults(wiring.Component):
    """Per N, result j of the pass from the aligned taps (combinational).

    Ports: ``nlog`` In(log2 N); ``taps`` In(groups x signed(p_bits)); ``res`` Out(tokens x
    max_results x signed(acc_bits)). Unpacked: ``res[0][j] = Q[end_j] - Q[start_j]``. Packed: each
    part ``Q[hi] - Q[lo]`` is decoded into lanes (``lo = sext18(d[17:0])``, ``hi = (d >> 18) +
    d[17]``) and the parts are summed per lane. The operands are selected per N first, so there is
    one subtractor per (result, part), shared by every N.
    """

    def __init__(self, geo: ChainGeometry):
        self.geo = geo
        super().__init__({
            "nlog": In(NLOG_BITS),
            "taps": In(ArrayLayout(signed(geo.p_bits), geo.groups)),
            "res": Out(ArrayLayout(ArrayLayout(signed(geo.acc_bits), geo.max_results),
                                   geo.tokens))})

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        for j in range(geo.max_results):
            lanes = [[] for _ in range(geo.tokens)]
            for k in range(geo.max_parts):
                hi = Signal(signed(geo.p_bits), name=f"hi{j}_{k}")
                lo = Signal(signed(geo.p_bits), name=f"lo{j}_{k}")
                with m.Switch(self.nlog):
                    for n in geo.n_options:
                        parts = geo.segment_parts(n)
                        if j < len(parts) and k < len(parts[j]):
                            hi_tap, lo_tap = parts[j][k]
                            with m.Case(nlog_of(n)):
                                m.d.comb += hi.eq(self.taps[hi_tap])
                                if lo_tap is not None:
                                    m.d.comb += lo.eq(self.taps[lo_tap])
                diff = Signal(signed(geo.p_bits), name=f"d{j}_{k}")
                m.d.comb += diff.eq(hi - lo)
                if geo.tokens == 1:
                    lanes[0].append(diff)
                else:
                    lanes[0].append(diff[:LANE].as_signed())
                    lanes[1].append((diff >> LANE) + diff[LANE - 1])
            for t, terms in enumerate(lanes):
                total = terms[0]
                for term in terms[1:]:
                    total = total + term
                m.d.comb += self.res[t][j].eq(total)
        return m

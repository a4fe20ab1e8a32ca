"""DSP group: a fixed PCOUT->PCIN cascade of MAC slices with a tap for its reduction node."""
from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .dsp48e2 import P_BITS, Dsp48e2Slice
from .mac_slice import MacSlice


class DspGroup(wiring.Component):
    """``size`` MAC slices in cascade (docs/references.md#flightllm-3.1: a DG of 2 DSP48s).

    Ports: ``en`` In(1); ``a`` In(size x tokens x signed(8)) and ``w`` In(size x signed(8)), already
    skewed so slice k sees its operands k cycles after slice 0; ``pcin`` In(signed(p_bits)) the
    previous group's cascade (absent on the first group); ``p`` Out: the last slice's P, the
    group's tap for its reduction node; ``pcout`` Out: what continues the cascade (``p`` itself
    with inferred slices, the last DSP48E2's 48-bit PCOUT with ``primitive="dsp48e2"``).
    Timing: operands that entered slice 0 at cycle t are summed into ``p`` at t + size + 2
    (:attr:`latency`).
    """

    def __init__(self, *, size: int, tokens: int, p_bits: int, first: bool = False,
                 primitive: str = "inferred"):
        self.size, self.tokens, self.p_bits, self.first = size, tokens, p_bits, first
        self.primitive = primitive
        # with DSP48E2 instances the cascade runs on the 48-bit PCOUT -> PCIN wires
        link = signed(p_bits) if primitive == "inferred" else P_BITS
        ports = {"en": In(1), "a": In(ArrayLayout(ArrayLayout(signed(8), tokens), size)),
                 "w": In(ArrayLayout(signed(8), size)), "p": Out(signed(p_bits)),
                 "pcout": Out(link)}
        if not first:
            ports["pcin"] = In(link)
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.size + 2

    def elaborate(self, platform):
        m = Module()
        pcin = None if self.first else self.pcin
        for k in range(self.size):
            s = SLICES[self.primitive](tokens=self.tokens, p_bits=self.p_bits,
                                       has_pcin=pcin is not None)
            m.submodules[f"mac{k}"] = s
            m.d.comb += [s.en.eq(self.en), s.a.eq(self.a[k]), s.w.eq(self.w[k])]
            if pcin is not None:
                m.d.comb += s.pcin.eq(pcin)
            pcin = s.p if self.primitive == "inferred" else s.pcout
        m.d.comb += [self.p.eq(s.p), self.pcout.eq(pcin)]
        return m


SLICES = {"inferred": MacSlice, "dsp48e2": Dsp48e2Slice}

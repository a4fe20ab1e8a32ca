"""DSP group: a fixed cascade of MAC slices behind one configurable link (flightllm.md §3.1)."""
from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .mac_slice import MacSlice


class DspGroup(wiring.Component):
    """``size`` MAC slices, PCOUT->PCIN inside; the head slice's link can cut or adjust the cascade.

    Ports: ``en`` In(1); ``a`` In(size x tokens x signed(8)) and ``w`` In(size x signed(8)), already
    skewed so slice k sees its operands k cycles after slice 0; ``cut`` In(1) (head: start a new
    sum); ``pcin`` In(signed(p_bits)) the previous group's P; ``p`` Out: the last slice's P;
    ``cut_add`` Out(1): ``cut`` at the cycle the head adds.
    Timing: slice k's P holds its operands' products 3 cycles after they arrive; ``p`` is valid for
    operands that entered slice 0 at t at cycle t + size + 2 (:attr:`latency`).
    """

    def __init__(self, *, size: int, tokens: int, p_bits: int, oau: bool = False,
                 first: bool = False):
        self.size, self.tokens, self.p_bits, self.oau, self.first = size, tokens, p_bits, oau, first
        ports = {"en": In(1), "a": In(ArrayLayout(ArrayLayout(signed(8), tokens), size)),
                 "w": In(ArrayLayout(signed(8), size)), "p": Out(signed(p_bits))}
        if not first:   # the chain's first group always starts a sum: no link, no cut
            ports.update(cut=In(1), pcin=In(signed(p_bits)), cut_add=Out(1))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.size + 2

    def elaborate(self, platform):
        m = Module()
        pcin = None if self.first else self.pcin
        for k in range(self.size):
            head = k == 0 and not self.first
            s = MacSlice(tokens=self.tokens, p_bits=self.p_bits, head=head, oau=head and self.oau,
                         has_pcin=pcin is not None)
            m.submodules[f"mac{k}"] = s
            m.d.comb += [s.en.eq(self.en), s.a.eq(self.a[k]), s.w.eq(self.w[k])]
            if pcin is not None:
                m.d.comb += s.pcin.eq(pcin)
            if head:
                m.d.comb += [s.cut.eq(self.cut), self.cut_add.eq(s.cut_add)]
            pcin = s.p
        m.d.comb += self.p.eq(pcin)
        return m

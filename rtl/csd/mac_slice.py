"""One MAC slice written so Yosys maps it onto one DSP48 with its A/B, M and P registers absorbed."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from ...golden import dsp_packing


class MacSlice(wiring.Component):
    """``P <= link(pcin) + a * w`` with A/B, M and P registers (DSP48 AREG=BREG=MREG=PREG=1).

    Ports: ``en`` In(1) clock enable of every register (DSP CE pins); ``a`` In(tokens x signed(8));
    ``w`` In(signed(8)); ``cut`` In(1) (head slices only, like ``cut_add``: start a new sum, the DSP Z-mux's zero);
    ``pcin`` In(signed(p_bits)) previous slice's P (absent on the chain's first slice); ``p`` Out(signed(p_bits)); ``cut_add`` Out(1):
    ``cut`` delayed to the cycle of the add (the reduction node and OAU use it).

    ``link``: inside a DSP group the cascade is fixed (``pcin`` goes straight into the adder, so
    Yosys uses PCOUT->PCIN). At a group head it is configurable: ``cut`` selects zero, and with
    ``oau`` (packed mode) the low 18-bit lane field is cleared (the overflow adjust unit; the field
    goes to the reduction node, see golden.dsp_packing).

    Packed (``tokens == 2``): the operand is ``a[1] * 2**18 + a[0]`` (WP486), so P carries token 0
    in bits 17..0 and token 1 above.

    Timing: inputs at cycle t are in P at cycle t + 3 (:attr:`latency`).
    """

    def __init__(self, *, tokens: int, p_bits: int, head: bool, oau: bool = False,
                 has_pcin: bool = True):
        self.tokens, self.p_bits, self.head, self.oau = tokens, p_bits, head, oau
        self.has_pcin = has_pcin
        ports = {"en": In(1), "a": In(ArrayLayout(signed(8), tokens)), "w": In(signed(8)),
                 "p": Out(signed(p_bits))}
        if has_pcin:
            ports["pcin"] = In(signed(p_bits))
        if head:
            ports.update(cut=In(1), cut_add=Out(1))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return 3

    def elaborate(self, platform):
        m = Module()
        lane = dsp_packing.LANE_BITS
        a_r = [Signal(signed(8), name=f"a{t}_r") for t in range(self.tokens)]
        w_r = Signal(signed(8))
        m_r = Signal(signed(self.p_bits))
        p_r = Signal(signed(self.p_bits))
        if self.tokens == 1:
            operand = a_r[0]
        else:  # pre-adder form of WP486: (a_hi << 18) + a_lo
            operand = (a_r[1] << lane) + a_r[0]
        link = self.pcin if self.has_pcin else Const(0, 1)
        if self.oau:
            link = Cat(Const(0, lane), self.pcin[lane:]).as_signed()
        if self.head and self.has_pcin:
            link = Mux(self.cut_add, 0, link)
        with m.If(self.en):
            m.d.sync += [w_r.eq(self.w), m_r.eq(operand * w_r), p_r.eq(link + m_r)]
            if self.head:
                cut_r = Signal()
                m.d.sync += [cut_r.eq(self.cut), self.cut_add.eq(cut_r)]
            m.d.sync += [r.eq(self.a[t]) for t, r in enumerate(a_r)]
        m.d.comb += self.p.eq(p_r)
        return m

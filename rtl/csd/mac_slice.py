"""One MAC slice written so Yosys maps it onto one DSP48 with its A/B, M and P registers absorbed."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from ...golden import dsp_packing


class MacSlice(wiring.Component):
    """``P <= pcin + a * w`` with A/B, M and P registers (DSP48 AREG=BREG=MREG=PREG=1).

    Ports: ``en`` In(1) clock enable of every register (the DSP CE pins); ``a`` In(tokens x
    signed(8)); ``w`` In(signed(8)); ``pcin`` In(signed(p_bits)) the previous slice's P (absent on
    the chain's first slice, whose Z-mux is then zero: the start of the PCOUT->PCIN cascade);
    ``p`` Out(signed(p_bits)).

    ``pcin`` goes straight into the post-adder with no logic in between, which is what Yosys
    needs to use the dedicated cascade (its Z-mux must be constant: zero for the first slice, PCIN
    for the rest).

    Packed (``tokens == 2``): the operand is ``a[1] * 2**18 + a[0]`` (WP486), so P carries token 0
    in bits 17..0 and token 1 above (golden.dsp_packing).

    Timing: operands at cycle t are in P at cycle t + 3 (:attr:`latency`).
    """

    def __init__(self, *, tokens: int, p_bits: int, has_pcin: bool = True):
        self.tokens, self.p_bits, self.has_pcin = tokens, p_bits, has_pcin
        ports = {"en": In(1), "a": In(ArrayLayout(signed(8), tokens)), "w": In(signed(8)),
                 "p": Out(signed(p_bits))}
        if has_pcin:
            ports["pcin"] = In(signed(p_bits))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return 3

    def elaborate(self, platform):
        m = Module()
        a_r = [Signal(signed(8), name=f"a{t}_r") for t in range(self.tokens)]
        w_r = Signal(signed(8))
        m_r = Signal(signed(self.p_bits))
        p_r = Signal(signed(self.p_bits))
        operand = mac_operand(a_r)
        total = (self.pcin + m_r) if self.has_pcin else m_r
        with m.If(self.en):
            m.d.sync += [w_r.eq(self.w), m_r.eq(operand * w_r), p_r.eq(total)]
            m.d.sync += [r.eq(self.a[t]) for t, r in enumerate(a_r)]
        m.d.comb += self.p.eq(p_r)
        return m


def mac_operand(a):
    """The multiplier's A operand of one slice from its tokens' activations ``a``: ``a[0]``, or
    packed ``a[1] * 2**18 + a[0]`` (27 bits) as wiring plus one 9-bit decrement: the low field
    is ``a[0]`` sign-extended to 18 bits, and a negative ``a[0]`` borrows one from ``a[1]``.
    (WP486 uses the DSP48E2 pre-adder; Yosys does not pack it, so a 27-bit fabric adder would
    remain.)"""
    if len(a) == 1:
        return a[0]
    lo, hi = a
    pad = dsp_packing.LANE_BITS - 8
    return Cat(lo, lo[7].replicate(pad), (hi - lo[7])[:9]).as_signed()

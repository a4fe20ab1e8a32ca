"""A MAC slice as an instantiated UltraScale+ DSP48E2, for ``csd.dsp_instances: dsp48e2``.

Yosys 0.70 maps :class:`~.mac_slice.MacSlice` onto DSP48E2 slices for ``-family xcup`` but
keeps none of the PCOUT->PCIN cascade links (docs/results/resources.md); an instance fixes the
mapping, so the chain uses the dedicated cascade on UltraScale+ whatever the synthesis tool does.
Simulators use fpga/models/dsp48e2.v (the subset this file configures, written from UG579 and
checked against Yosys' DSP48E1 model, tests/sim/test_dsp48e2_model.py); Vivado uses the device's.
"""
from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, ResetSignal, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .mac_slice import mac_operand

P_BITS = 48
# OPMODE = W(8:7) Z(6:4) Y(3:2) X(1:0): X = Y = M (the multiplier's two partial products),
# W = 0; Z = PCIN continues the cascade, Z = 0 starts it (UG579, table 2-8/2-9)
OPMODE_M = 0b00_000_01_01
OPMODE_PCIN_M = 0b00_001_01_01
# What the instance sets; the simulation model refuses anything else.
ATTRIBUTES = {"AREG": 1, "BREG": 1, "ACASCREG": 1, "BCASCREG": 1, "MREG": 1, "PREG": 1,
              "CREG": 0, "DREG": 0, "ADREG": 0, "INMODEREG": 0, "OPMODEREG": 0,
              "ALUMODEREG": 0, "CARRYINREG": 0, "CARRYINSELREG": 0,
              "AMULTSEL": "A", "BMULTSEL": "B", "PREADDINSEL": "A", "USE_MULT": "MULTIPLY",
              "USE_SIMD": "ONE48", "A_INPUT": "DIRECT", "B_INPUT": "DIRECT"}


class Dsp48e2Slice(wiring.Component):
    """``P <= PCIN + A * B`` in one DSP48E2 with its A2/B2, M and P registers, all enabled by
    ``en`` and reset by the domain's reset: :class:`~.mac_slice.MacSlice`'s function.

    Ports: ``en`` In(1); ``a`` In(tokens x signed(8)); ``w`` In(signed(8)); ``pcin`` In(48) the
    previous slice's ``pcout`` (absent on a cascade's head, whose Z-mux is then 0); ``p``
    Out(signed(p_bits)) (the low bits of P: no sum of the chain needs more); ``pcout`` Out(48).
    The packed operand of two tokens is formed in fabric in front of the A register (27 bits:
    the DSP48E2's A multiplier input).
    Timing: operands at cycle t are in P at cycle t + 3 (:attr:`latency`), as MacSlice.
    """

    latency = 3

    def __init__(self, *, tokens: int, p_bits: int, has_pcin: bool = True):
        self.tokens, self.p_bits, self.has_pcin = tokens, p_bits, has_pcin
        ports = {"en": In(1), "a": In(ArrayLayout(signed(8), tokens)), "w": In(signed(8)),
                 "p": Out(signed(p_bits)), "pcout": Out(P_BITS)}
        if has_pcin:
            ports["pcin"] = In(P_BITS)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        a, b, p = Signal(signed(30)), Signal(signed(18)), Signal(P_BITS)
        m.d.comb += [a.eq(mac_operand([self.a[t] for t in range(self.tokens)])),
                     b.eq(self.w), self.p.eq(p[:self.p_bits])]
        zero = Const(0, 1)
        rst = ResetSignal()
        m.submodules.dsp = Instance(
            "DSP48E2", **{f"p_{k}": v for k, v in ATTRIBUTES.items()},
            i_CLK=ClockSignal(), i_A=a, i_B=b, i_C=Const(0, P_BITS), i_D=Const(0, 27),
            i_PCIN=self.pcin if self.has_pcin else Const(0, P_BITS),
            i_OPMODE=Const(OPMODE_PCIN_M if self.has_pcin else OPMODE_M, 9),
            i_ALUMODE=Const(0, 4), i_INMODE=Const(0, 5), i_CARRYINSEL=Const(0, 3),
            i_CARRYIN=zero, i_CEA1=zero, i_CEA2=self.en, i_CEB1=zero, i_CEB2=self.en,
            i_CEM=self.en, i_CEP=self.en, i_CEC=zero, i_CED=zero, i_CEAD=zero, i_CECTRL=zero,
            i_CEINMODE=zero, i_CEALUMODE=zero, i_CECARRYIN=zero,
            i_RSTA=rst, i_RSTB=rst, i_RSTM=rst, i_RSTP=rst, i_RSTC=zero, i_RSTD=zero,
            i_RSTCTRL=zero, i_RSTINMODE=zero, i_RSTALUMODE=zero, i_RSTALLCARRYIN=zero,
            o_P=p, o_PCOUT=self.pcout)
        return m

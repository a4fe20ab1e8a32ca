"""A MAC slice as an instantiated UltraScale+ DSP48E2, for ``csd.dsp_instances: dsp48e2``, and a
row of the VPU's row accumulator as one, for ``csd.row_accumulator: dsp48e2``.

Yosys 0.70 maps :class:`~.mac_slice.MacSlice` onto DSP48E2 slices for ``-family xcup`` but
keeps none of the PCOUT->PCIN cascade links (docs/results/resources.md); an instance fixes the
mapping, so the chain uses the dedicated cascade on UltraScale+ whatever the synthesis tool does.
Simulators use fpga/models/dsp48e2.v (the subset this file configures, written from UG579 and
checked against Yosys' DSP48E1 model, tests/sim/test_dsp48e2_model.py); Vivado uses the device's.
"""
from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal, signed
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
# The row accumulator's slice: no multiplier and no input or M register; Z = P, and X = A:B
# (the bias) or Y = C (a pass result), chosen per cycle
OPMODE_P_AB = 0b00_010_00_11
OPMODE_P_C = 0b00_010_11_00
ACC_ATTRIBUTES = {**ATTRIBUTES, "AREG": 0, "BREG": 0, "ACASCREG": 0, "BCASCREG": 0, "MREG": 0,
                  "USE_MULT": "NONE"}
_CONTROLS = ("CARRYIN", "CEA1", "CEA2", "CEB1", "CEB2", "CEM", "CEP", "CEC", "CED", "CEAD",
             "CECTRL", "CEINMODE", "CEALUMODE", "CECARRYIN", "RSTA", "RSTB", "RSTM", "RSTP",
             "RSTC", "RSTD", "RSTCTRL", "RSTINMODE", "RSTALUMODE", "RSTALLCARRYIN")


def dsp48e2(attributes: dict, **ports) -> Instance:
    """A DSP48E2 instance with ``attributes``; ``ports`` by the primitive's port names (P and
    PCOUT are outputs), every one not given tied to 0 (D, INMODE, ALUMODE, CARRYINSEL, the
    clock enables and resets), CLK the domain's clock."""
    args = {f"i_{name}": Const(0, 1) for name in _CONTROLS}
    args.update(i_CLK=ClockSignal(), i_D=Const(0, 27), i_C=Const(0, P_BITS),
                i_PCIN=Const(0, P_BITS), i_ALUMODE=Const(0, 4), i_INMODE=Const(0, 5),
                i_CARRYINSEL=Const(0, 3), o_PCOUT=Signal(P_BITS, name="unused_pcout"))
    args.update({("o_" if name in ("P", "PCOUT") else "i_") + name: value
                 for name, value in ports.items()})
    return Instance("DSP48E2", **{f"p_{k}": v for k, v in attributes.items()}, **args)


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
        rst = ResetSignal()
        m.submodules.dsp = dsp48e2(
            ATTRIBUTES, A=a, B=b, PCIN=self.pcin if self.has_pcin else Const(0, P_BITS),
            OPMODE=Const(OPMODE_PCIN_M if self.has_pcin else OPMODE_M, 9),
            CEA2=self.en, CEB2=self.en, CEM=self.en, CEP=self.en,
            RSTA=rst, RSTB=rst, RSTM=rst, RSTP=rst, P=p, PCOUT=self.pcout)
        return m


class Dsp48e2Accumulator(wiring.Component):
    """One row of the VPU's row accumulator in a DSP48E2's P register (``csd.row_accumulator:
    dsp48e2``): ``P <= P + bias`` when ``load``, else ``P <= P + value``, enabled by ``en``;
    ``clear`` (or the domain's reset) zeroes P and wins over ``en``: the fabric row's function
    (:class:`~.accumulator.RowAccumulator`) with its adder in the DSP. P is 48 bits and ``p``
    its low ``bits``: the same sum modulo 2**bits.

    Ports: ``en``, ``load``, ``clear`` In(1); ``bias``, ``value`` In(signed(bits)); ``p``
    Out(signed(bits)). Timing: a register (the sum is on ``p`` the cycle after ``en``)."""

    def __init__(self, bits: int):
        self.bits = bits
        super().__init__({"en": In(1), "load": In(1), "clear": In(1),
                          "bias": In(signed(bits)), "value": In(signed(bits)),
                          "p": Out(signed(bits))})

    def elaborate(self, platform):
        m = Module()
        ab, c, p = Signal(signed(P_BITS)), Signal(signed(P_BITS)), Signal(P_BITS)
        m.d.comb += [ab.eq(self.bias), c.eq(self.value), self.p.eq(p[:self.bits])]
        m.submodules.dsp = dsp48e2(
            ACC_ATTRIBUTES, A=ab[18:], B=ab[:18], C=c,
            OPMODE=Mux(self.load, Const(OPMODE_P_AB, 9), Const(OPMODE_P_C, 9)), CEP=self.en,
            RSTP=self.clear | ResetSignal(), P=p)
        return m

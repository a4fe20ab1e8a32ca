"""Sparse MUX: the activation that meets a kept weight, picked from its M-block by the 4-bit index."""
from __future__ import annotations

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out


class SparseMux(wiring.Component):
    """M:1 select in front of one DSP slice (docs/references.md#flightllm-3.1, unit 1).

    Ports: ``cand`` In(M x signed(8)): the token's activation block; ``idx`` In(log2 M): the kept
    weight's in-block position; ``y`` Out(signed(8)) = ``cand[idx]``.
    Timing: combinational; the slice's A register (inside the DSP) registers ``y``.
    """

    def __init__(self, m: int, act_bits: int = 8):
        self.m = m
        super().__init__({"cand": In(ArrayLayout(signed(act_bits), m)),
                          "idx": In(unsigned((m - 1).bit_length())),
                          "y": Out(signed(act_bits))})

    @property
    def latency(self) -> int:
        return 0

    def elaborate(self, platform):
        m = Module()
        # A case per position instead of the view's variable shift: a plain M:1 mux in Verilog.
        with m.Switch(self.idx):
            for k in range(self.m):
                with m.Case(k):
                    m.d.comb += self.y.eq(self.cand[k])
        return m

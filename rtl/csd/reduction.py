"""Reduction node (segment result out of a DSP group) and the packed-mode overflow adjust path."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from ...golden import dsp_packing
from .delay import delay

LANE = dsp_packing.LANE_BITS


def side_widths(n_oau: int) -> tuple[int, int]:
    """Widths of the OAU side sums: LSPs (signed) and borrows (unsigned) of ``n_oau`` OAU points."""
    return LANE + n_oau.bit_length() + 1, n_oau.bit_length() + 1


class OverflowAdjust(wiring.Component):
    """Side path between two packed DSP groups, carrying what OAU points took out of the cascade.

    Ports: ``en``; ``cut`` In(1): the downstream group starts a new sum (at its add cycle);
    ``pcin`` In(signed(p_bits)): the upstream group's P; ``lsp_in``/``borrow_in``: side sums at the
    upstream group's end; ``lsp_out``/``borrow_out``: side sums at the downstream group's end.
    With ``oau`` this boundary is an OAU point: the low 18-bit field of ``pcin`` (read signed, the
    LSP) and its sign bit (the borrow the cleared field owes the upper lane) join the side sums;
    the head slice clears the field from the cascade. Timing: ``delay`` (= group size) cycles, the
    time the cascade takes through the downstream group.
    """

    def __init__(self, *, p_bits: int, n_oau: int, oau: bool, delay: int):
        self.oau, self.delay_cycles = oau, delay
        lsp_bits, borrow_bits = side_widths(n_oau)
        super().__init__({"en": In(1), "cut": In(1), "pcin": In(signed(p_bits)),
                          "lsp_in": In(signed(lsp_bits)), "borrow_in": In(unsigned(borrow_bits)),
                          "lsp_out": Out(signed(lsp_bits)), "borrow_out": Out(unsigned(borrow_bits))})

    @property
    def latency(self) -> int:
        return self.delay_cycles

    def elaborate(self, platform):
        m = Module()
        lsp, borrow = self.lsp_in, self.borrow_in
        if self.oau:
            lsp = lsp + self.pcin[:LANE].as_signed()
            borrow = borrow + self.pcin[LANE - 1]
        lsp_next = Signal.like(self.lsp_out)
        borrow_next = Signal.like(self.borrow_out)
        m.d.comb += [lsp_next.eq(Mux(self.cut, 0, lsp)), borrow_next.eq(Mux(self.cut, 0, borrow))]
        m.d.comb += [self.lsp_out.eq(delay(m, lsp_next, self.delay_cycles, self.en, "lsp")),
                     self.borrow_out.eq(delay(m, borrow_next, self.delay_cycles, self.en, "borrow"))]
        return m


class ReductionNode(wiring.Component):
    """Reduction node at the end of a DSP group: the group's P as a result, lined up in time.

    Ports: ``en`` (only with a deskew delay); ``p`` In(signed(p_bits)) the group's last P;
    ``lsp``/``borrow`` In (packed only: the OAU side sums); ``res`` Out(tokens x signed(acc_bits)).
    Unpacked: ``res[0] = p``. Packed: the lanes are decoded with the lower-lane sign correction
    (golden.dsp_packing.split_lanes) and the side sums are added back: ``res[0] = sext18(p[17:0]) +
    lsp``, ``res[1] = (p >> 18) + p[17] + borrow``.
    Timing: ``delay`` cycles of deskew so that every group's result leaves with the chain's last.
    """

    def __init__(self, *, tokens: int, p_bits: int, acc_bits: int, delay: int, n_oau: int = 0):
        self.tokens, self.delay_cycles = tokens, delay
        lsp_bits, borrow_bits = side_widths(n_oau)
        ports = {"p": In(signed(p_bits)), "res": Out(ArrayLayout(signed(acc_bits), tokens))}
        if delay:
            ports["en"] = In(1)
        if tokens == 2:
            ports.update(lsp=In(signed(lsp_bits)), borrow=In(unsigned(borrow_bits)))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.delay_cycles

    def elaborate(self, platform):
        m = Module()
        if self.tokens == 1:
            lanes = [self.p]
        else:
            lanes = [self.p[:LANE].as_signed() + self.lsp,
                     (self.p >> LANE) + self.p[LANE - 1] + self.borrow]
        for t, value in enumerate(lanes):
            res = Signal(signed(len(self.res[t])), name=f"res{t}")
            m.d.comb += res.eq(value)
            en = self.en if self.delay_cycles else None
            m.d.comb += self.res[t].eq(delay(m, res, self.delay_cycles, en, f"res{t}"))
        return m

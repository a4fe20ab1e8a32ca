"""Chunk sequencer: holds each chunk of ``lanes`` weights for its ``slots`` cycles."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import SLOT_BITS


class Sequencer(wiring.Component):
    """Steps through the term slots of the chunk at the head of the input stream(s).

    Ports:
      - ``valid: In(1)``: a chunk is present (all input streams valid).
      - ``slots: In(3)``: its term slots (from the term decoder).
      - ``first, last: In(1)``: the chunk opens / closes a group.
      - ``can_step: In(1)``: every PE datapath can take this cycle's step.
      - ``step, slot, group_first, group_end``: Out: to the datapaths.
      - ``ready: Out(1)``: the chunk is consumed this cycle (its last slot steps).
    Timing: combinational outputs from a slot counter; a chunk takes exactly ``slots`` cycles
    when the inputs are valid and nothing stalls (:attr:`cycles_per_chunk`).
    """

    def __init__(self):
        super().__init__({"valid": In(1), "slots": In(3), "first": In(1), "last": In(1),
                          "can_step": In(1), "step": Out(1), "slot": Out(SLOT_BITS),
                          "group_first": Out(1), "group_end": Out(1), "ready": Out(1)})

    @staticmethod
    def cycles_per_chunk(slots: int) -> int:
        return slots

    def elaborate(self, platform):
        m = Module()
        final = Signal()
        m.d.comb += [final.eq(self.slot == self.slots - 1),
                     self.step.eq(self.valid & self.can_step),
                     self.group_first.eq(self.first & ~self.slot.any()),
                     self.group_end.eq(self.last & final),
                     self.ready.eq(self.step & final)]
        with m.If(self.step):
            m.d.sync += self.slot.eq(self.slot + 1)
            with m.If(final):
                m.d.sync += self.slot.eq(0)
        return m

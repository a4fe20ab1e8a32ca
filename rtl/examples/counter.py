"""A small enable-gated counter: the "hello world" of the hardware flow (docs/hardware-flow.md)."""
from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class Counter(wiring.Component):
    """Counts clock edges while ``en`` is high, wrapping at ``2**width``.

    Ports (synchronous domain ``sync``; Verilog adds ``clk`` and ``rst``):
      - ``en: In(1)``: count on this clock edge.
      - ``count: Out(width)``: the count, registered.
      - ``wrap: Out(1)``: combinational; high when ``en`` is high and ``count`` is all ones, so the
        next edge wraps to zero.

    Timing: ``count`` changes one cycle after the edge that samples ``en`` (:attr:`latency` = 1).
    """

    def __init__(self, width: int = 8):
        if width < 1:
            raise ValueError(f"Counter width must be at least 1, got {width}")
        self.width = width
        super().__init__({"en": In(1), "count": Out(width), "wrap": Out(1)})

    @property
    def latency(self) -> int:
        return 1

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + 1)
        m.d.comb += self.wrap.eq(self.en & (self.count == (1 << self.width) - 1))
        return m

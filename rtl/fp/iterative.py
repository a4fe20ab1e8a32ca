"""The start/busy/done control shared by the iterative units (divider, square root)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring

from ...base.errors import ConfigError


class Iterative(wiring.Component):
    """Base of the digit-recurrence units: ``digits`` result bits, ``bits_per_cycle`` per cycle.

    Timing: ``start`` is sampled in a cycle where ``busy`` is low (ignored while busy); the
    operands are taken in that cycle t. ``busy`` is high in cycles t+1 .. t+iterations, and
    ``done`` pulses in cycle t + ``latency`` (``latency = iterations + 1``), where ``y`` becomes
    valid; ``y`` holds until the next accepted ``start``, which may be in the ``done`` cycle.
    """

    def __init__(self, signature, digits: int, bits_per_cycle: int):
        if not isinstance(bits_per_cycle, int) or isinstance(bits_per_cycle, bool) \
                or not 1 <= bits_per_cycle <= digits:
            self._MustUse__silence = True
            raise ConfigError(f"{type(self).__name__}: bits_per_cycle must be an int in "
                              f"[1, {digits}], got {bits_per_cycle!r}")
        self.bits_per_cycle = bits_per_cycle
        self.iterations = -(-digits // bits_per_cycle)
        super().__init__(signature)

    @property
    def latency(self) -> int:
        """Cycles from the accepted ``start`` to ``done``."""
        return self.iterations + 1

    def control(self, m: Module) -> tuple[Signal, Signal]:
        """Drive ``busy``/``done``; return ``(load, step)``: take the operands / iterate once."""
        count = Signal(range(self.iterations + 1))
        load, step = Signal(), Signal()
        m.d.comb += [self.busy.eq(count != 0), load.eq(self.start & (count == 0)),
                     step.eq(count != 0)]
        m.d.sync += self.done.eq(count == 1)
        with m.If(load):
            m.d.sync += count.eq(self.iterations)
        with m.Elif(step):
            m.d.sync += count.eq(count - 1)
        return load, step

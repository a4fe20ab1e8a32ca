"""The start/busy/done control shared by the iterative units (divider, square root)."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring

from ...base.errors import ConfigError


class Iterative(wiring.Component):
    """Base of the digit-recurrence units: ``digits`` result bits, ``bits_per_cycle`` per cycle,
    ``stages`` register ranks in the final rounding (0: rounded combinationally from the
    recurrence's registers).

    Timing: ``start`` is sampled in a cycle where ``busy`` is low (ignored while busy); the
    operands are taken in that cycle t. ``busy`` is high in cycles t+1 .. t+latency-1, and
    ``done`` pulses in cycle t + ``latency`` (``latency = iterations + 1 + stages``), where ``y``
    becomes valid; ``y`` holds until the next accepted ``start``, which may be in the ``done``
    cycle.
    """

    def __init__(self, signature, digits: int, bits_per_cycle: int, stages: int = 0):
        if not isinstance(bits_per_cycle, int) or isinstance(bits_per_cycle, bool) \
                or not 1 <= bits_per_cycle <= digits:
            self._MustUse__silence = True
            raise ConfigError(f"{type(self).__name__}: bits_per_cycle must be an int in "
                              f"[1, {digits}], got {bits_per_cycle!r}")
        if not isinstance(stages, int) or isinstance(stages, bool) or stages < 0:
            self._MustUse__silence = True
            raise ConfigError(f"{type(self).__name__}: stages must be an int >= 0, got {stages!r}")
        self.bits_per_cycle, self.stages = bits_per_cycle, stages
        self.iterations = -(-digits // bits_per_cycle)
        super().__init__(signature)

    @property
    def latency(self) -> int:
        """Cycles from the accepted ``start`` to ``done``."""
        return self.iterations + 1 + self.stages

    def control(self, m: Module) -> tuple[Signal, Signal]:
        """Drive ``busy``/``done``; return ``(load, step)``: take the operands / iterate once."""
        count = Signal(range(self.iterations + 1))
        load, step = Signal(), Signal()
        done, rounding = count == 1, []
        for k in range(self.stages):                     # in step with the rounding ranks
            later = Signal(name=f"done_d{k}")
            m.d.sync += later.eq(done)
            done = later
            rounding.append(later)
        m.d.comb += [self.busy.eq((count != 0) | Cat(*rounding).any()),
                     load.eq(self.start & ~self.busy), step.eq(count != 0)]
        m.d.sync += self.done.eq(done)
        with m.If(load):
            m.d.sync += count.eq(self.iterations)
        with m.Elif(step):
            m.d.sync += count.eq(count - 1)
        return load, step

"""Fixed-latency pipeline bookkeeping for the SFU: values tagged with the stage they are valid
in, delayed on demand, so every op of the element pipeline lines up without counting by hand.

A :class:`Timed` value is an Amaranth value valid in pipeline stage ``at`` (stage 0 is the cycle
an element is accepted; every register moves a value one stage on). :meth:`Stages.reg` registers
an expression, :meth:`Stages.at` delays a value to a later stage (shift registers, shared between
callers asking for the same value and stage).
"""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Signal, Value


@dataclass(frozen=True)
class Timed:
    value: Value
    at: int


class Stages:
    """Registers of one free-running pipeline inside module ``m`` (names prefixed ``name``)."""

    def __init__(self, m: Module, name: str):
        # the registers live in a module of their own: one created while the caller is inside
        # an m.If / m.Switch must not inherit that condition
        self.m, self.name = Module(), name
        m.submodules[f"{name}_stages"] = self.m
        self._delays: dict[int, tuple[Timed, list[Signal]]] = {}   # holds t: ids stay unique
        self._count = 0

    def reg(self, value, at: int, name: str = "r") -> Timed:
        """``value`` (valid in stage ``at``) registered: valid in stage ``at + 1``."""
        value = Value.cast(value)
        self._count += 1
        sig = Signal(value.shape(), name=f"{self.name}_{name}{self._count}")
        self.m.d.sync += sig.eq(value)
        return Timed(sig, at + 1)

    def at(self, t: Timed, stage: int) -> Value:
        """``t`` delayed to ``stage`` (>= t.at)."""
        if stage < t.at:
            raise ValueError(f"{self.name}: a value of stage {t.at} is not yet there in {stage}")
        if stage == t.at:
            return t.value
        _, chain = self._delays.setdefault(id(t), (t, []))
        while len(chain) < stage - t.at:
            prev = chain[-1] if chain else t.value
            self._count += 1
            sig = Signal(Value.cast(prev).shape(), name=f"{self.name}_d{self._count}")
            self.m.d.sync += sig.eq(prev)
            chain.append(sig)
        return chain[stage - t.at - 1]


def unit(m: Module, name: str, component, **inputs):
    """Add ``component`` as submodule ``name`` with its inputs driven combinationally."""
    m.submodules[name] = component
    for port, value in inputs.items():
        m.d.comb += getattr(component, port).eq(value)
    return component


def step(s: Stages, m: Module, name: str, component, at: int, **inputs) -> Timed:
    """``component`` (a unit with ``y``, free-running ``latency`` or none) fed ``inputs`` in
    stage ``at``, its result registered: valid in stage ``at + latency + 1``."""
    u = unit(m, name, component, **inputs)
    return s.reg(u.y, at + getattr(u, "latency", 0), name)

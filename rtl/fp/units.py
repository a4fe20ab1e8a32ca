"""All fp units side by side: the ``fp32-units`` registry target (export, lint, synthesis)."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib.wiring import Component, Signature

from .add import Fp32Add
from .compare import Fp32Max
from .convert import F16ToF32, F32Rint, F32ToF16, I32ToF32
from .div import Fp32Div
from .mul import Fp32Mul
from .sqrt import Fp32Sqrt


def _units(stages: int) -> dict:
    return {"add": Fp32Add(stages), "mul": Fp32Mul(stages), "max": Fp32Max(),
            "f16tof32": F16ToF32(), "f32tof16": F32ToF16(stages), "i32tof32": I32ToF32(stages),
            "rint": F32Rint(stages), "div": Fp32Div(), "sqrt": Fp32Sqrt()}


class Fp32Units(Component):
    """Every unit of rtl/fp with its ports exported as ``<unit>_<port>`` (e.g. ``add_a``,
    ``div_done``); the pipelined ones with ``stages`` register ranks, divider and square root at
    1 bit per cycle. Timing: that of each unit (see their docstrings)."""

    def __init__(self, stages: int = 2):
        self._units = _units(stages)
        members = {f"{name}_{port}": member
                   for name, unit in self._units.items()
                   for port, member in unit.signature.members.items()}
        super().__init__(Signature(members))

    def elaborate(self, platform):
        m = Module()
        for name, unit in self._units.items():
            m.submodules[name] = unit
            for port, member in unit.signature.members.items():
                inner, outer = getattr(unit, port), getattr(self, f"{name}_{port}")
                m.d.comb += inner.eq(outer) if member.flow.name == "In" else outer.eq(inner)
        return m


class Registered(Component):
    """``unit`` with a register on every port (inputs before it, outputs after it), so that
    out-of-context place and route, which does not time paths to and from ports, times the unit
    itself (``bitflight pnr``). Ports: those of ``unit``. Timing: ``unit``'s + 2 cycles."""

    def __init__(self, unit: Component):
        self._unit = unit
        super().__init__(unit.signature)

    @property
    def latency(self) -> int:
        return getattr(self._unit, "latency", 0) + 2

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self._unit
        for port, member in self._unit.signature.members.items():
            inner, outer = getattr(self._unit, port), getattr(self, port)
            m.d.sync += inner.eq(outer) if member.flow.name == "In" else outer.eq(inner)
        return m

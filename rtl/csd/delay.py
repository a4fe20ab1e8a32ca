"""Enabled delay lines (input skew, output deskew): plain registers that synthesis may turn into SRLs."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


def delay(m: Module, value: Value, cycles: int, en: Value, name: str) -> Value:
    """``value`` delayed by ``cycles`` enabled clock edges (``cycles == 0`` returns it unchanged)."""
    for stage in range(cycles):
        reg = Signal.like(value, name=f"{name}_d{stage + 1}")
        with m.If(en):
            m.d.sync += reg.eq(value)
        value = reg
    return value

"""Delay lines (input skew, tap deskew, a systolic array's edges): reset-less registers that
synthesis packs into SRLs. Shared by the engines (rtl/csd, rtl/bitmod)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


def delay(m: Module, value: Value, cycles: int, en: Value | None, name: str, *,
          reset_less: bool = True) -> Value:
    """``value`` delayed by ``cycles`` enabled clock edges (``cycles == 0`` returns it unchanged;
    ``en`` None: every edge).

    Data needs no reset (only the valid bits do), and a reset would keep Yosys from using SRLs.
    """
    for stage in range(cycles):
        reg = Signal.like(value, name=f"{name}_d{stage + 1}", reset_less=reset_less)
        if en is None:
            m.d.sync += reg.eq(value)
        else:
            with m.If(en):
                m.d.sync += reg.eq(value)
        value = reg
    return value

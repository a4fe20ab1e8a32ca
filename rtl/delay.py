"""Delay lines (input skew, tap deskew, a systolic array's edges): reset-less registers that
synthesis packs into SRLs. Shared by the engines (rtl/csd, rtl/bitmod)."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


def delay(m: Module, value: Value, cycles: int, en: Value | None, name: str, *,
          reset_less: bool = True) -> Value:
    """``value`` delayed by ``cycles`` enabled clock edges (``cycles == 0`` returns it unchanged;
    ``en`` None: every edge).

    Data needs no reset (only the valid bits do), and a reset would keep Yosys from using SRLs.
    Only the last stage has ``value``'s shape: the others are plain bit vectors, since a
    struct-shaped signal is written out with a wire per field (a 1024-row column's term delays
    were 17 wires a stage and 49 MB of Verilog).
    """
    original, bits = value, Value.cast(value)
    init = bits.init & ((1 << len(bits)) - 1) if isinstance(bits, Signal) else 0
    for stage in range(cycles):
        stage_name = f"{name}_d{stage + 1}"
        reg = Signal.like(original, name=stage_name, reset_less=reset_less) \
            if stage == cycles - 1 else \
            Signal(len(bits), name=stage_name, reset_less=reset_less, init=init)
        if en is None:
            m.d.sync += reg.eq(bits)
        else:
            with m.If(en):
                m.d.sync += reg.eq(bits)
        bits = Value.cast(reg)
        value = reg
    return value

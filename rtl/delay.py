"""Delay lines (input skew, tap deskew, a systolic array's edges): reset-less registers that
synthesis packs into SRLs (:func:`delay`), or for long lines of wide values one RAM
(:func:`delay_ram`). Shared by the engines (rtl/csd, rtl/bitmod)."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib.memory import Memory


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


# From this many cycles on, delay_ram keeps a line in a RAM: shorter ones stay flip-flops, which
# take no LUTs (synth_xilinx packs only chains of 3 or more into SRLs: `xilinx_srl -minlen 3`).
RAM_MIN_CYCLES = 3


def delay_ram(m: Module, values: list, cycles: int, name: str) -> list:
    """``values`` delayed together by ``cycles`` clock edges, as :func:`delay` with ``en`` None
    and every value's init 0, but held in one RAM word per cycle instead of a register per bit
    and stage (registers when ``cycles`` < :data:`RAM_MIN_CYCLES`).

    Why: the BitMoD column's tile rows run up to 31 cycles late, and their rows' decoded terms
    and scales are delayed to match, 37 bits a row. As registers that is 36.7 k SRLs at 1024
    rows and, before mapping, more than half a million flip-flop bits, which took the 1024-row
    column past the WebAssembly Yosys' 4 GB (docs/results/resources.md). A RAM of depth
    2**ceil(log2(cycles)) is written every cycle at a free-running pointer and read, into its
    read port's register, ``cycles - 1`` entries behind it: an entry is read ``cycles - 1``
    cycles after its write and overwritten ``depth`` cycles after it, so the read is never
    transparent. On UltraScale+ it maps to LUT-RAM (14 bits x 32 per RAM32M16, 8 LUTs).
    """
    bits = [Value.cast(v) for v in values]
    for b in bits:              # a struct view casts to its signal, so its init is checked too
        if isinstance(b, Signal) and b.init:
            raise ValueError(f"{name}: delay_ram starts from zeros, {b.name} has init {b.init}")
    if cycles < RAM_MIN_CYCLES:
        return [delay(m, v, cycles, None, f"{name}_{i}") for i, v in enumerate(values)]
    word = Cat(*bits)
    depth = 1 << (cycles - 1).bit_length()
    m.submodules[name] = ram = Memory(shape=len(word), depth=depth, init=[])
    wr, rd = ram.write_port(), ram.read_port()
    ptr = Signal(range(depth), name=f"{name}_ptr", reset_less=True)
    m.d.sync += ptr.eq(ptr + 1)
    m.d.comb += [wr.addr.eq(ptr), wr.data.eq(word), wr.en.eq(1),
                 rd.addr.eq(ptr - (cycles - 1))]
    out, at = [], 0
    for i, v in enumerate(values):
        o = Signal.like(v, name=f"{name}_{i}_d{cycles}")
        m.d.comb += Value.cast(o).eq(rd.data[at:at + len(bits[i])])
        out.append(o)
        at += len(bits[i])
    return out

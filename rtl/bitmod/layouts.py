"""Stream payload layouts of the BitMoD PE and array (widths from :class:`EngineParams`).

Weight codes travel exactly as golden.quant packs a group record: ``lanes`` consecutive b-bit
codes as one LSB-first bit field (code j at bits [j*b, j*b + b)), b given by the datatype.
Repeated fields are named (``l0``.., ``r0``.., ``c0``.., ``r0c0``..) instead of ArrayLayouts: the
``name[i]`` debug wires Amaranth emits for ArrayLayout views make Yosys 0.70's abc9 reintegration
fail (``count_id(wire->name) == 0``) when it names a mapped bit ``name[i]`` as well.

``fmt`` is the hardware datatype index (golden.bitserial.HW_FORMATS; a BitMoD group's index is
``HW_FORMATS.index(qw.formats[dtype_id])``); ``scale`` the group scale as a packed tile stores it
(golden.bitserial.EngineWeight.scale_fields: the u8 integer scale, or the fp16 bits of the
per-level scale when the flag ``fp16_scale`` is set); ``row_scale`` the row's fp16 scale (int
mode only; ignored in fp16 mode). Results leave the array as fp16 bit patterns.
"""
from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib.data import StructLayout

from ...golden.bitserial.params import FP16_FRAC, FP16_SIG_BITS
from .params import (ACT_BITS, CODE_BITS, FMT_BITS, FP16_BITS, SHIFT_BITS, UNIT_SHIFT_BITS,
                     EngineParams)


FLAGS = ("first", "last", "dot_last", "fp16_scale")


def flags_layout() -> dict:
    """``first``/``last``: the chunk opens/closes a group; ``dot_last``: the group is the last one
    of the dot product (meaningful with ``last``); ``fp16_scale``: the weight's scale mode is
    fp16 (read with ``last``: it applies to the group being closed and, with ``dot_last``, to
    the dot product's output conversion)."""
    return {name: unsigned(1) for name in FLAGS}


def weight_row_layout(p: EngineParams) -> StructLayout:
    return StructLayout({"codes": unsigned(CODE_BITS * p.lanes), "fmt": unsigned(FMT_BITS),
                         "scale": unsigned(p.scale_field_bits), "row_scale": unsigned(FP16_BITS)})


def lane(j: int) -> str:
    return f"l{j}"


def row(r: int) -> str:
    return f"r{r}"


def col(c: int) -> str:
    return f"c{c}"


def pe(r: int, c: int) -> str:
    return f"r{r}c{c}"


def acts_layout(p: EngineParams) -> StructLayout:
    """``lanes`` fp16 bit patterns, fields ``l0`` ..."""
    return StructLayout({lane(j): unsigned(ACT_BITS) for j in range(p.lanes)})


def pe_in_layout(p: EngineParams) -> StructLayout:
    """One chunk for one PE: ``lanes`` weights of one row, ``lanes`` activations of one token."""
    return StructLayout({"w": weight_row_layout(p), "acts": acts_layout(p), **flags_layout()})


def result_layout(p: EngineParams) -> StructLayout:
    """A finished dot product, internal format: value = mant * 2**(exp - lsb_offset)."""
    return StructLayout({"mant": signed(p.dp.out_bits), "exp": signed(p.dp.out_exp_bits)})


def term_layout() -> StructLayout:
    """One lane's weight term of a cycle: ``(-1)**neg * 2**shift``, or nothing (``valid`` 0)."""
    return StructLayout({"valid": unsigned(1), "neg": unsigned(1), "shift": unsigned(SHIFT_BITS)})


def terms_layout(p: EngineParams) -> StructLayout:
    """A row's decoded terms, fields ``l0`` ... (decoded once per row, rtl/bitmod/fronts.py)."""
    return StructLayout({lane(j): term_layout() for j in range(p.lanes)})


def act_fields_layout() -> StructLayout:
    """An unpacked fp16 activation: significand (no hidden bit when subnormal), significand - 1,
    exponent ``max(e, 1)``, sign, and ``nz`` (significand non-zero)."""
    return StructLayout({"sig": unsigned(FP16_SIG_BITS), "sig_m1": unsigned(FP16_SIG_BITS),
                         "exp": unsigned(ACT_BITS - 1 - FP16_FRAC),
                         "sign": unsigned(1), "nz": unsigned(1)})


def unpacked_acts_layout(p: EngineParams) -> StructLayout:
    """A column's unpacked activations, fields ``l0`` ... (unpacked once per column)."""
    return StructLayout({lane(j): act_fields_layout() for j in range(p.lanes)})


def hold_layout(p: EngineParams) -> StructLayout:
    """A PE's closed group sum (group accumulator format: value = mant * 2**(exp - 28))."""
    return StructLayout({"mant": signed(p.dp.acc_bits), "exp": unsigned(p.dp.exp_bits)})


def row_holds_layout(p: EngineParams) -> StructLayout:
    """The closed group sums of one row's PEs, fields ``c0`` ..."""
    return StructLayout({col(c): hold_layout(p) for c in range(p.cols)})


def band_layout(p: EngineParams, shape) -> StructLayout:
    """One ``shape`` per row of a row unit's band: fields ``r0`` ..."""
    return StructLayout({row(b): shape for b in range(p.band_rows)})


def band_holds_layout(p: EngineParams) -> StructLayout:
    """The closed group sums of a row unit's band: fields ``r0`` ... (rows within the band),
    each a row's :func:`row_holds_layout`."""
    return band_layout(p, row_holds_layout(p))


def out_scale_layout() -> StructLayout:
    """What the output unit needs of a row besides the PE results: the fp16 row scale and the
    format unit as a right shift (unit = 2**-unit_shift), both 1 in fp16 scale mode."""
    return StructLayout({"row_scale": unsigned(FP16_BITS), "unit_shift": unsigned(UNIT_SHIFT_BITS)})


def weight_flags_layout() -> StructLayout:
    """The flags of a weight beat (the array's ``w`` stream payload)."""
    return StructLayout(flags_layout())


def weight_port(tile_row: int) -> str:
    """The array port that carries the weight rows of tile row ``tile_row``."""
    return f"w_t{tile_row}"


def tile_weights_layout(p: EngineParams, tile_row: int) -> StructLayout:
    """Fields ``r{r}`` (array row numbers) for the rows of tile row ``tile_row``: what port
    :func:`weight_port` carries with each ``w`` beat."""
    return StructLayout({row(r): weight_row_layout(p) for r in p.tile_row_rows(tile_row)})


def array_weight_ports(p: EngineParams) -> dict[str, StructLayout]:
    """Port name -> layout of every tile row's weight rows."""
    return {weight_port(k): tile_weights_layout(p, k) for k in range(p.tile_grid[0])}


def array_act_layout(p: EngineParams) -> StructLayout:
    """Fields ``c0`` ... (the activations of one column each)."""
    return StructLayout({col(c): acts_layout(p) for c in range(p.cols)})


def array_results_layout(p: EngineParams) -> StructLayout:
    """Fields ``u0`` ...: one finished dot product (mant, exp) per row unit (of the band's row
    the output unit is reading)."""
    return StructLayout({f"u{u}": result_layout(p) for u in range(len(p.bands))})


def array_out_layout(p: EngineParams) -> StructLayout:
    """One output beat = one column (token): fields ``r0`` ... the fp16 result of each row, and
    ``last``: the beat of the last column of a finished tile."""
    return StructLayout({**{row(r): unsigned(FP16_BITS) for r in range(p.rows)},
                         "last": unsigned(1)})


def acts_value(values) -> dict:
    """Python list of lane activations -> a const value of :func:`acts_layout`."""
    return {lane(j): v for j, v in enumerate(values)}


def flags_value(weight_beat: dict) -> dict:
    """The flags of a weight beat dict (``first``, ``last``, ``dot_last``, ``fp16_scale``)."""
    return {k: weight_beat[k] for k in FLAGS}


def pe_in_value(weight_beat: dict, acts) -> dict:
    """The 1 x 1 case of a weight beat and its activations -> :func:`pe_in_layout` value."""
    return {"w": weight_beat["rows"][0], "acts": acts_value(acts[0]),
            **flags_value(weight_beat)}


def array_act_value(cols) -> dict:
    """``[[lane values] per column]`` -> :func:`array_act_layout` value."""
    return {col(c): acts_value(a) for c, a in enumerate(cols)}


def array_words(p: EngineParams, weight_beat: dict, act_cols) -> dict[str, int]:
    """One chunk as the integers on the array's ports, by port path (``w.payload``: the flags,
    ``w_t0`` ...: each tile row's weight rows, ``a.payload``), for benches that drive the ports
    directly (cocotb, bitflight.sim.hdl.interactive; a Verilog port joins the path with "__")."""
    words = {"w.payload": weight_flags_layout().const(flags_value(weight_beat)).as_value().value}
    for k in range(p.tile_grid[0]):
        words[weight_port(k)] = tile_weights_layout(p, k).const(
            {row(r): weight_beat["rows"][r] for r in p.tile_row_rows(k)}).as_value().value
    words["a.payload"] = array_act_layout(p).const(array_act_value(act_cols)).as_value().value
    return words


def array_beat(p: EngineParams, word: int) -> tuple[list[int], int]:
    """The array's ``o`` payload -> (fp16 bit pattern per row, last)."""
    out = array_out_layout(p).from_bits(word)
    return [int(out[row(r)]) for r in range(p.rows)], int(out.last)

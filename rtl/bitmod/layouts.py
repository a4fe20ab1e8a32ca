"""Stream payload layouts of the BitMoD PE and array (widths from :class:`EngineParams`).

Weight codes travel exactly as golden.quant packs a group record: ``lanes`` consecutive b-bit
codes as one LSB-first bit field (code j at bits [j*b, j*b + b)), b given by the datatype.
``fmt`` is the hardware datatype index (golden.bitserial.HW_FORMATS; a BitMoD group's index is
``HW_FORMATS.index(qw.formats[dtype_id])``), ``scale`` the unsigned per-group integer scale.
"""
from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib.data import ArrayLayout, StructLayout

from .params import ACT_BITS, CODE_BITS, FMT_BITS, EngineParams


def flags_layout() -> dict:
    """``first``/``last``: the chunk opens/closes a group; ``dot_last``: the group is the last one
    of the dot product (meaningful with ``last``)."""
    return {"first": unsigned(1), "last": unsigned(1), "dot_last": unsigned(1)}


def weight_row_layout(p: EngineParams) -> StructLayout:
    return StructLayout({"codes": unsigned(CODE_BITS * p.lanes), "fmt": unsigned(FMT_BITS),
                         "scale": unsigned(p.scale_bits)})


def acts_layout(p: EngineParams) -> ArrayLayout:
    """``lanes`` fp16 bit patterns."""
    return ArrayLayout(unsigned(ACT_BITS), p.lanes)


def pe_in_layout(p: EngineParams) -> StructLayout:
    """One chunk for one PE: ``lanes`` weights of one row, ``lanes`` activations of one token."""
    return StructLayout({"w": weight_row_layout(p), "acts": acts_layout(p), **flags_layout()})


def result_layout(p: EngineParams) -> StructLayout:
    """A finished dot product in the internal format: value = mant * 2**(exp - lsb_offset)."""
    return StructLayout({"mant": signed(p.dp.out_bits), "exp": unsigned(p.dp.exp_bits)})


def array_weight_layout(p: EngineParams) -> StructLayout:
    return StructLayout({"rows": ArrayLayout(weight_row_layout(p), p.rows), **flags_layout()})


def array_act_layout(p: EngineParams) -> ArrayLayout:
    return ArrayLayout(acts_layout(p), p.cols)


def array_out_layout(p: EngineParams) -> ArrayLayout:
    """``res[row][col]``."""
    return ArrayLayout(ArrayLayout(result_layout(p), p.cols), p.rows)

"""Stream payload layouts of the CSD chain and the MPU (all widths from :class:`ChainGeometry`)."""
from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib.data import ArrayLayout, StructLayout

from .geometry import ChainGeometry

ACT_BITS = 8
WEIGHT_BITS = 8     # INT8 weights, or INT4 in the low nibble when ``w4`` is set
NLOG_BITS = 3       # log2(N) for N up to 128


def act_layout(geo: ChainGeometry) -> ArrayLayout:
    """One M-wide activation block per token of the pass (``act[token][k]``)."""
    return ArrayLayout(ArrayLayout(signed(ACT_BITS), geo.m), geo.tokens)


def lane_layout(geo: ChainGeometry) -> StructLayout:
    """What one chain gets per pass besides the activations.

    ``w[i]``/``idx[i]``: the kept weight of slice i and its 4-bit position in the M-block;
    ``nlog``: log2 of the block's N (selects the segment results); ``w4``: weights are INT4 held
    in the low nibble (sign-extended in the chain); ``last``: sideband passed through to the
    output with the results (the row accumulator closes a row block on it).

    Packed chains also have ``rows2`` and ``w2[i]``: a *row-packed* pass (one token, a dense
    block) whose slices multiply token 0's activation by two rows' weights, ``w[i]`` (lane 0)
    and ``w2[i]`` (lane 1), instead of one weight by two tokens' activations
    (docs/rtl/csd.md, "Row-packed MV").
    """
    fields = {
        "w": ArrayLayout(signed(WEIGHT_BITS), geo.slices),
        "idx": ArrayLayout(unsigned(geo.index_bits), geo.slices),
        "nlog": unsigned(NLOG_BITS),
        "w4": unsigned(1),
        "last": unsigned(1),
    }
    if geo.packed:
        fields.update({"rows2": unsigned(1), "w2": ArrayLayout(signed(WEIGHT_BITS), geo.slices)})
    return StructLayout(fields)


def chain_in_layout(geo: ChainGeometry) -> StructLayout:
    return StructLayout({"act": act_layout(geo), "lane": lane_layout(geo)})


def chain_out_layout(geo: ChainGeometry) -> StructLayout:
    """``res[lane][j]``: result j of the pass (the first ``results_per_pass(N)`` are valid); a
    lane is a token, or with ``rows2`` (packed chains) one of the pass's two row sets."""
    fields = {
        "res": ArrayLayout(ArrayLayout(signed(geo.acc_bits), geo.max_results), geo.tokens),
        "nlog": unsigned(NLOG_BITS),
        "last": unsigned(1),
    }
    if geo.packed:
        fields["rows2"] = unsigned(1)
    return StructLayout(fields)


def mpu_in_layout(geo: ChainGeometry, vpus: int) -> StructLayout:
    return StructLayout({"act": act_layout(geo), "lanes": ArrayLayout(lane_layout(geo), vpus)})


def mpu_out_layout(geo: ChainGeometry, vpus: int) -> StructLayout:
    return StructLayout({"vpu": ArrayLayout(chain_out_layout(geo), vpus)})
